package ipcguard

import (
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
)

// Reader reads the record batches of an Arrow IPC stream or file through
// Arrow Go's reader, with the checks of the package comment. Iterate it
// as
//
//	for r.Next() { rec := r.Record(); ... }
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	schema *arrow.Schema
	alloc  *Allocator

	stream *ipc.Reader

	file    *ipc.FileReader
	records []batchInfo // of the file's record batches
	rows    int64       // of the file; -1 for a stream
	i       int         // the file's current record batch

	rec arrow.Record
	err error
}

// NewStreamReader reads the schema of the IPC stream in r (with or
// without the continuation markers of Arrow 0.15 and later) and returns
// a Reader of its record batches. r is read as far as the schema, and
// then a batch at a time.
func NewStreamReader(r io.Reader, opt Options) (rd *Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, fmt.Errorf("%w (%v)", ErrCorruptSchema, p)
		}
	}()
	alloc := NewAllocator(minLimit)
	mr := &messageReader{r: r, opt: opt, alloc: alloc}
	sr, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(alloc))
	if err != nil {
		return nil, err
	}
	mr.schema = sr.Schema()
	return &Reader{schema: mr.schema, alloc: alloc, stream: sr, rows: -1}, nil
}

// NewFileReader checks the IPC file of size bytes in ra (its footer and
// every block the footer lists) and returns a Reader of its record
// batches. Dictionary batches (with Options.Dictionaries) are read here,
// as ipc.FileReader does.
func NewFileReader(ra io.ReaderAt, size int64, opt Options) (rd *Reader, err error) {
	info, err := checkFile(ra, size, opt)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, fmt.Errorf("%w (%v)", ErrCorruptBatch, p)
		}
	}()
	alloc := NewAllocator(minLimit)
	var dicts batchInfo // ipc.NewFileReader reads every dictionary
	for _, d := range info.dicts {
		dicts.body, dicts.compressed = max(dicts.body, d.body), dicts.compressed || d.compressed
	}
	alloc.limitTo(dicts)
	fr, err := ipc.NewFileReader(io.NewSectionReader(ra, 0, size), ipc.WithAllocator(alloc))
	if err != nil {
		return nil, err
	}
	if fr.NumRecords() != len(info.records) {
		fr.Close()
		return nil, fmt.Errorf("%w (%d record batches, the footer lists %d)", ErrCorruptBatch, fr.NumRecords(), len(info.records))
	}
	for _, b := range append(info.dicts, info.records...) {
		if err := b.fits(fr.Schema()); err != nil {
			fr.Close()
			return nil, err
		}
	}
	return &Reader{schema: fr.Schema(), alloc: alloc, file: fr, records: info.records, rows: info.rows, i: -1}, nil
}

// Schema returns the schema of the stream or file.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Rows returns the number of rows of an IPC file, as its footer's blocks
// say, and -1 for a stream.
func (r *Reader) Rows() int64 { return r.rows }

// Next advances to the next record batch, which it checks with
// CheckRecord. It returns false at the end or on an error; Err tells
// which.
func (r *Reader) Next() (ok bool) {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.err != nil || (r.stream == nil && r.file == nil) {
		return false
	}
	defer func() {
		if p := recover(); p != nil {
			r.err, ok = fmt.Errorf("%w (%v)", ErrCorruptBatch, p), false
		}
	}()
	var rec arrow.Record
	if r.stream != nil {
		if !r.stream.Next() {
			r.err = r.stream.Err()
			return false
		}
		rec = r.stream.Record()
		rec.Retain()
	} else {
		if r.i+1 >= r.file.NumRecords() {
			return false
		}
		r.i++
		r.alloc.limitTo(r.records[r.i])
		if rec, r.err = r.file.RecordAt(r.i); r.err != nil {
			return false
		}
	}
	if err := CheckRecord(rec); err != nil {
		rec.Release()
		r.err = err
		return false
	}
	r.rec = rec
	return true
}

// Record returns the current record batch, valid until the next call of
// Next or Release.
func (r *Reader) Record() arrow.Record { return r.rec }

// Err returns the error that ended Next, if any (nil at the end).
func (r *Reader) Err() error { return r.err }

// Release frees the reader's resources; Next then returns false.
func (r *Reader) Release() {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.stream != nil {
		r.stream.Release()
		r.stream = nil
	}
	if r.file != nil {
		r.file.Close()
		r.file = nil
	}
}
