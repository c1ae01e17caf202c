package ipcguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	flatbuffers "github.com/google/flatbuffers/go"
)

// sample returns a schema of the column types siampipe reads (and a
// dictionary column, without dict), and a record of rows of it.
func sample(t testing.TB, rows int, dict bool) arrow.Record {
	t.Helper()
	fields := []arrow.Field{
		{Name: "index", Type: arrow.PrimitiveTypes.Int64},
		{Name: "label", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "pixels", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Uint8)},
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "values", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: "image", Type: arrow.StructOf(arrow.Field{Name: "bytes", Type: arrow.BinaryTypes.Binary, Nullable: true},
			arrow.Field{Name: "path", Type: arrow.BinaryTypes.LargeString, Nullable: true})},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean},
	}
	if dict {
		fields = append(fields, arrow.Field{Name: "class", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}})
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := 0; i < rows; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%3 == 1 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Uint8Builder).Append(uint8(i))
		}
		pb := b.Field(2).(*array.FixedSizeListBuilder)
		pb.Append(true)
		pb.ValueBuilder().(*array.Uint8Builder).AppendValues([]uint8{uint8(i), 1, 2}, nil)
		b.Field(3).(*array.StringBuilder).Append(strings.Repeat("n", i%5))
		lb := b.Field(4).(*array.ListBuilder)
		lb.Append(true)
		for j := 0; j < i%4; j++ {
			lb.ValueBuilder().(*array.Float32Builder).Append(float32(j))
		}
		sb := b.Field(5).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.BinaryBuilder).Append([]byte{0x89, 'P', byte(i)})
		sb.FieldBuilder(1).(*array.LargeStringBuilder).Append("x.png")
		b.Field(6).(*array.BooleanBuilder).Append(i%2 == 0)
		if dict {
			if err := b.Field(7).(*array.BinaryDictionaryBuilder).AppendString([]string{"cat", "dog"}[i%2]); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.NewRecord()
}

// writeIPC writes batches of rec (each of batch rows) as a stream, or an
// IPC file if file, with opts.
func writeIPC(t testing.TB, rec arrow.Record, batch int, file bool, opts ...ipc.Option) []byte {
	t.Helper()
	var buf seekBuffer
	opts = append(opts, ipc.WithSchema(rec.Schema()))
	var w interface {
		Write(arrow.Record) error
		Close() error
	}
	if file {
		fw, err := ipc.NewFileWriter(&buf, opts...)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	} else {
		w = ipc.NewWriter(&buf, opts...)
	}
	for i := int64(0); i < rec.NumRows(); i += int64(batch) {
		s := rec.NewSlice(i, min(i+int64(batch), rec.NumRows()))
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
		s.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.b
}

// seekBuffer is an in-memory io.WriteSeeker for ipc.NewFileWriter, which
// only ever seeks to where it is.
type seekBuffer struct{ b []byte }

func (s *seekBuffer) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *seekBuffer) Seek(off int64, whence int) (int64, error) {
	if off != 0 || whence != io.SeekCurrent {
		return 0, errors.New("seekBuffer: only Seek(0, io.SeekCurrent)")
	}
	return int64(len(s.b)), nil
}

// open reads data as an IPC file (from "ARROW1") or stream.
func open(data []byte, opt Options) (*Reader, error) {
	if bytes.HasPrefix(data, []byte(fileMagic)) {
		return NewFileReader(bytes.NewReader(data), int64(len(data)), opt)
	}
	return NewStreamReader(bytes.NewReader(data), opt)
}

// readAll reads every batch of data, touching every value (see touch),
// and returns the rows read and the error met.
func readAll(t testing.TB, data []byte, opt Options) (rows int64, err error) {
	r, err := open(data, opt)
	if err != nil {
		return 0, err
	}
	defer r.Release()
	for r.Next() {
		rec := r.Record()
		for i, col := range rec.Columns() {
			if int64(col.Len()) != rec.NumRows() {
				t.Fatalf("column %d has %d rows of a batch's %d", i, col.Len(), rec.NumRows())
			}
			touch(t, col)
		}
		rows += rec.NumRows()
	}
	if r.Err() == nil && r.Rows() >= 0 && rows != r.Rows() {
		t.Fatalf("read %d rows, the file says %d", rows, r.Rows())
	}
	return rows, r.Err()
}

// touch uses every value of a as a caller would, with the typed
// accessors, and checks that lists lie within their values: what
// CheckRecord promises is safe (a panic here fails the test).
func touch(t testing.TB, a arrow.Array) {
	for i := 0; i < a.Len(); i++ {
		a.IsNull(i)
	}
	switch a := a.(type) {
	case *array.Int64:
		_ = a.Int64Values()[:a.Len()]
	case *array.Int32:
		_ = a.Int32Values()[:a.Len()]
	case *array.Uint8:
		_ = a.Uint8Values()[:a.Len()]
	case *array.Float32:
		_ = a.Float32Values()[:a.Len()]
	case *array.Boolean:
		for i := 0; i < a.Len(); i++ {
			a.Value(i)
		}
	case *array.String:
		for i := 0; i < a.Len(); i++ {
			_ = a.Value(i)
		}
	case *array.LargeString:
		for i := 0; i < a.Len(); i++ {
			_ = a.Value(i)
		}
	case *array.Binary:
		for i := 0; i < a.Len(); i++ {
			_ = a.Value(i)
		}
	case *array.LargeBinary:
		for i := 0; i < a.Len(); i++ {
			_ = a.Value(i)
		}
	case *array.Struct:
		for k := 0; k < a.NumField(); k++ {
			if a.Field(k).Len() < a.Len() {
				t.Fatalf("struct of %d rows has a field of %d", a.Len(), a.Field(k).Len())
			}
			touch(t, a.Field(k))
		}
	case *array.Dictionary:
		touch(t, a.Dictionary())
		for i := 0; i < a.Len(); i++ {
			if k := a.GetValueIndex(i); a.IsValid(i) && (k < 0 || k >= a.Dictionary().Len()) {
				t.Fatalf("dictionary index %d of %d values", k, a.Dictionary().Len())
			}
		}
	case array.ListLike:
		vals := a.ListValues()
		for i := 0; i < a.Len(); i++ {
			if s, e := a.ValueOffsets(i); s < 0 || s > e || e > int64(vals.Len()) {
				t.Fatalf("list %d at %d..%d of %d values", i, s, e, vals.Len())
			}
		}
		touch(t, vals)
	}
}

func TestReadsStreamsAndFiles(t *testing.T) {
	rec := sample(t, 10, true)
	defer rec.Release()
	for _, file := range []bool{false, true} {
		for _, opts := range [][]ipc.Option{nil, {ipc.WithZstd()}, {ipc.WithLZ4()}} {
			data := writeIPC(t, rec, 4, file, opts...)
			rows, err := readAll(t, data, Options{Dictionaries: true})
			if err != nil || rows != 10 {
				t.Errorf("file %v, %d options: %d rows, %v", file, len(opts), rows, err)
			}
		}
	}
}

func TestReaderGivesTheRecords(t *testing.T) {
	rec := sample(t, 7, false)
	defer rec.Release()
	for _, file := range []bool{false, true} {
		r, err := open(writeIPC(t, rec, 3, file), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []arrow.Record
		for r.Next() {
			r.Record().Retain()
			got = append(got, r.Record())
		}
		if r.Err() != nil || len(got) != 3 {
			t.Fatalf("file %v: %d batches, %v", file, len(got), r.Err())
		}
		if want := int64(7); file && r.Rows() != want || !file && r.Rows() != -1 {
			t.Errorf("file %v: Rows() %d", file, r.Rows())
		}
		for i, g := range got {
			want := rec.NewSlice(int64(3*i), min(int64(3*i+3), 7))
			if !array.RecordEqual(g, want) {
				t.Errorf("file %v: batch %d differs", file, i)
			}
			want.Release()
			g.Release()
		}
		r.Release()
		if r.Next() {
			t.Error("Next after Release")
		}
	}
}

func TestDictionariesOnlyWhenAllowed(t *testing.T) {
	rec := sample(t, 4, true)
	defer rec.Release()
	for _, file := range []bool{false, true} {
		_, err := readAll(t, writeIPC(t, rec, 2, file), Options{})
		if !errors.Is(err, ErrDictionary) {
			t.Errorf("file %v: error %v, want ErrDictionary", file, err)
		}
	}
}

// batchMeta returns the metadata flatbuffer, RecordBatch table and body
// of the first record batch of the stream or file in data: views into
// data.
func batchMeta(t *testing.T, data []byte) (meta []byte, b flatbuffers.Table, body []byte) {
	t.Helper()
	pos := 0
	if bytes.HasPrefix(data, []byte(fileMagic)) {
		pos = 8
	}
	for pos+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[pos+4:]))
		if n == 0 {
			break
		}
		meta = data[pos+8 : pos+8+n]
		m := root(meta)
		var bodyLen int64
		if o := m.Offset(slotMessageBodyLength); o != 0 {
			bodyLen = m.GetInt64(flatbuffers.UOffsetT(o) + m.Pos)
		}
		if o := m.Offset(slotMessageHeaderType); o != 0 && m.GetByte(flatbuffers.UOffsetT(o)+m.Pos) == headerTypeRecord {
			m.Union(&b, flatbuffers.UOffsetT(m.Offset(slotMessageHeader)))
			return meta, b, data[pos+8+n : pos+8+n+int(bodyLen)]
		}
		pos += 8 + n + int(bodyLen)
	}
	t.Fatal("no record batch")
	return
}

func vectorAt(b flatbuffers.Table, slot flatbuffers.VOffsetT) (start, n int) {
	o := flatbuffers.UOffsetT(b.Offset(slot))
	return int(b.Vector(o)), b.VectorLen(o)
}

// allocating runs f and returns how many bytes the Go heap allocated.
func allocating(f func()) uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	f()
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc - before
}

// A batch whose buffer list is short of what its columns take, the bytes
// after the list claiming 1 GiB: refused before Arrow Go allocates it.
func TestTooFewBuffersAreRefused(t *testing.T) {
	rec := sample(t, 4, false)
	defer rec.Release()
	for _, file := range []bool{false, true} {
		data := writeIPC(t, rec, 4, file)
		meta, b, _ := batchMeta(t, data)
		start, n := vectorAt(b, slotBatchBuffers)
		binary.LittleEndian.PutUint32(meta[start-4:], uint32(n-1))
		binary.LittleEndian.PutUint64(meta[start+16*(n-1):], 0)
		binary.LittleEndian.PutUint64(meta[start+16*(n-1)+8:], 1<<30)
		var err error
		if a := allocating(func() { _, err = readAll(t, data, Options{}) }); a > 64<<20 {
			t.Errorf("file %v: %d bytes allocated", file, a)
		}
		if !errors.Is(err, ErrCorruptBatch) || !strings.Contains(err.Error(), "buffers where the schema takes") {
			t.Errorf("file %v: error %v", file, err)
		}
	}
}

func TestBatchShorterThanItsColumnsIsRefused(t *testing.T) {
	rec := sample(t, 4, false)
	defer rec.Release()
	for _, file := range []bool{false, true} {
		data := writeIPC(t, rec, 4, file)
		_, b, _ := batchMeta(t, data)
		b.MutateInt64(flatbuffers.UOffsetT(b.Offset(slotBatchLength))+b.Pos, 2)
		if _, err := readAll(t, data, Options{}); !errors.Is(err, ErrCorruptBatch) || !strings.Contains(err.Error(), `2 rows, and column "index" has 4`) {
			t.Errorf("file %v: error %v", file, err)
		}
	}
}

// Each hostile record: a patch of the first batch's metadata or body
// (buffers in sample's order: 0-1 index, 2-3 label, 4-6 pixels, 7-9 name,
// 10-13 values, 14 image, 15-17 bytes, 18-20 path, 21-22 flag), and what
// the error must say (Arrow Go itself refuses some).
func TestHostileArraysAreRefused(t *testing.T) {
	rec := sample(t, 8, false)
	defer rec.Release()
	node := func(meta []byte, b flatbuffers.Table, i int) []byte {
		start, _ := vectorAt(b, slotBatchNodes)
		return meta[start+16*i:]
	}
	buffer := func(meta []byte, b flatbuffers.Table, i int) (off, length int) {
		start, _ := vectorAt(b, slotBatchBuffers)
		p := meta[start+16*i:]
		return int(binary.LittleEndian.Uint64(p)), int(binary.LittleEndian.Uint64(p[8:]))
	}
	for _, c := range []struct {
		name  string
		patch func(meta []byte, b flatbuffers.Table, body []byte)
		says  string
	}{
		{"pixel values shorter than the lists", func(meta []byte, b flatbuffers.Table, body []byte) {
			binary.LittleEndian.PutUint64(node(meta, b, 3), 6) // pixels' values
		}, `column "pixels": 6 values for 8 lists of 3`},
		{"string offsets past the data", func(meta []byte, b flatbuffers.Table, body []byte) {
			off, _ := buffer(meta, b, 8)
			binary.LittleEndian.PutUint32(body[off+4*8:], 1000)
		}, "string offsets out of bounds"}, // Arrow Go's
		{"string offsets decreasing", func(meta []byte, b flatbuffers.Table, body []byte) {
			off, _ := buffer(meta, b, 8)
			binary.LittleEndian.PutUint32(body[off+4*3:], 0)
		}, `column "name": offset 0 after`},
		{"list offsets past the values", func(meta []byte, b flatbuffers.Table, body []byte) {
			off, _ := buffer(meta, b, 11)
			binary.LittleEndian.PutUint32(body[off+4*8:], 1<<20)
		}, `column "values": offsets up to 1048576`},
		{"binary offsets decreasing", func(meta []byte, b flatbuffers.Table, body []byte) {
			off, _ := buffer(meta, b, 16)
			binary.LittleEndian.PutUint32(body[off+4*5:], 1)
		}, `column "image": field "bytes": values: offset 1 after`},
		{"more nulls than values", func(meta []byte, b flatbuffers.Table, body []byte) {
			binary.LittleEndian.PutUint64(node(meta, b, 1)[8:], 9)
		}, `column "label": 9 nulls in 8 values`},
		{"struct field shorter than the struct", func(meta []byte, b flatbuffers.Table, body []byte) {
			binary.LittleEndian.PutUint64(node(meta, b, 8), 3) // image.path
		}, "index out of range"}, // Arrow Go's
	} {
		t.Run(c.name, func(t *testing.T) {
			data := writeIPC(t, rec, 8, false)
			meta, b, body := batchMeta(t, data)
			c.patch(meta, b, body)
			_, err := readAll(t, data, Options{})
			if err == nil || !strings.Contains(err.Error(), c.says) || strings.HasPrefix(c.says, "column") != errors.Is(err, ErrCorruptBatch) {
				t.Errorf("error %v, want one saying %q", err, c.says)
			}
		})
	}
}

func TestBodyLongerThanTheStreamIsTruncated(t *testing.T) {
	rec := sample(t, 4, false)
	defer rec.Release()
	data := writeIPC(t, rec, 4, false)
	meta, _, _ := batchMeta(t, data)
	m := root(meta)
	m.MutateInt64(flatbuffers.UOffsetT(m.Offset(slotMessageBodyLength))+m.Pos, 1<<40)
	var err error
	if a := allocating(func() { _, err = readAll(t, data, Options{}) }); a > 256<<20 {
		t.Errorf("%d bytes allocated", a)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestCorruptFilesAreRefused(t *testing.T) {
	rec := sample(t, 4, false)
	defer rec.Release()
	good := writeIPC(t, rec, 2, true)
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"magic only", []byte("ARROW1\x00\x00ARROW1"), ErrCorruptSchema},
		{"cut", good[:len(good)-3], ErrNoFooter},
		{"footer longer than the file", func() []byte {
			d := bytes.Clone(good)
			binary.LittleEndian.PutUint32(d[len(d)-10:], uint32(len(d)))
			return d
		}(), ErrCorruptSchema},
		{"block outside the file", func() []byte {
			d := bytes.Clone(good)
			n := int(binary.LittleEndian.Uint32(d[len(d)-10:]))
			footer := d[len(d)-10-n : len(d)-10]
			f := root(footer)
			start := int(f.Vector(flatbuffers.UOffsetT(f.Offset(slotFooterRecords))))
			binary.LittleEndian.PutUint64(footer[start+16:], 1<<40) // body length
			return d
		}(), ErrCorruptBatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := readAll(t, c.data, Options{}); !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
		})
	}
}

// A schema whose field list claims more fields than its flatbuffer holds.
func TestSchemaVectorLongerThanItsBufferIsRefused(t *testing.T) {
	rec := sample(t, 1, false)
	defer rec.Release()
	data := writeIPC(t, rec, 1, false)
	meta := data[8 : 8+int(binary.LittleEndian.Uint32(data[4:]))]
	m := root(meta)
	var s flatbuffers.Table
	m.Union(&s, flatbuffers.UOffsetT(m.Offset(slotMessageHeader)))
	start, _ := vectorAt(s, slotSchemaFields)
	binary.LittleEndian.PutUint32(meta[start-4:], 1<<28)
	var err error
	if a := allocating(func() { _, err = readAll(t, data, Options{}) }); a > 64<<20 {
		t.Errorf("%d bytes allocated", a)
	}
	if !errors.Is(err, ErrCorruptSchema) {
		t.Errorf("error %v, want ErrCorruptSchema", err)
	}
}

func TestAllocatorRefusesAboveItsLimit(t *testing.T) {
	a := NewAllocator(100)
	if b := a.Allocate(100); len(b) != 100 {
		t.Fatalf("%d bytes", len(b))
	}
	for _, f := range []func(){func() { a.Allocate(101) }, func() { a.Reallocate(1<<40, nil) }, func() { a.Allocate(-1) }} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(p.(string), "refused") {
					t.Errorf("panic %v", p)
				}
			}()
			f()
		}()
	}
	a.SetLimit(1 << 20)
	if a.Limit() != 1<<20 || len(a.Allocate(1<<20)) != 1<<20 {
		t.Error("SetLimit")
	}
}

// FuzzReader reads arbitrary bytes as a stream or file: Reader must
// return an error or records that touch can use, never panic or allocate
// by a corrupt length.
func FuzzReader(f *testing.F) {
	rec := sample(f, 6, true)
	defer rec.Release()
	plain := sample(f, 6, false)
	defer plain.Release()
	for _, file := range []bool{false, true} {
		f.Add(writeIPC(f, rec, 4, file))
		f.Add(writeIPC(f, plain, 3, file, ipc.WithZstd()))
		f.Add(writeIPC(f, plain, 6, file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readAll(t, data, Options{Dictionaries: true})
	})
}

// zeros returns a record of one column of rows lists of n zero bytes.
func zeros(rows, n int) arrow.Record {
	t := arrow.FixedSizeListOf(int32(n), arrow.PrimitiveTypes.Uint8)
	schema := arrow.NewSchema([]arrow.Field{{Name: "pixels", Type: t}}, nil)
	values := array.NewData(arrow.PrimitiveTypes.Uint8, rows*n, []*memory.Buffer{nil, memory.NewBufferBytes(make([]byte, rows*n))}, nil, 0, 0)
	defer values.Release()
	list := array.NewData(t, rows, []*memory.Buffer{nil}, []arrow.ArrayData{values}, 0, 0)
	defer list.Release()
	col := array.MakeFromData(list)
	defer col.Release()
	return array.NewRecord(schema, []arrow.Array{col}, int64(rows))
}

// Buffers that compress as well as any can (zeros) are read: the bound on
// what a compressed byte can make refuses none.
func TestHighlyCompressedBuffersAreRead(t *testing.T) {
	rec := zeros(64, 256<<10)
	defer rec.Release()
	for _, codec := range []ipc.Option{ipc.WithZstd(), ipc.WithLZ4()} {
		for _, file := range []bool{false, true} {
			data := writeIPC(t, rec, 64, file, codec)
			rows, err := readAll(t, data, Options{})
			if err != nil || rows != 64 {
				t.Errorf("file %v: 16 MiB of zeros in %d bytes: %d rows, %v", file, len(data), rows, err)
			}
		}
	}
}

// A compressed buffer whose prefix claims more than its bytes can make
// (as a fuzzed prefix does): refused before Arrow Go allocates the claim.
func TestCompressedClaimBeyondItsBytesIsRefused(t *testing.T) {
	rec := sample(t, 8, false)
	defer rec.Release()
	for _, c := range []struct {
		name  string
		codec ipc.Option
		ratio int64
	}{{"zstd", ipc.WithZstd(), 1 << 16}, {"lz4", ipc.WithLZ4(), 1 << 9}} {
		for _, file := range []bool{false, true} {
			data := writeIPC(t, rec, 8, file, c.codec)
			meta, b, body := batchMeta(t, data)
			start, _ := vectorAt(b, slotBatchBuffers)
			p := meta[start+16*1:] // index's values
			off, length := binary.LittleEndian.Uint64(p), int64(binary.LittleEndian.Uint64(p[8:]))
			claim := (length-8)*c.ratio + c.ratio
			binary.LittleEndian.PutUint64(body[off:], uint64(claim))
			var err error
			if a := allocating(func() { _, err = readAll(t, data, Options{}) }); a > 64<<20 {
				t.Errorf("%s, file %v: %d bytes allocated", c.name, file, a)
			}
			if !errors.Is(err, ErrCorruptBatch) || !strings.Contains(err.Error(), "uncompressed bytes of") {
				t.Errorf("%s, file %v: claim of %d from %d bytes: error %v", c.name, file, claim, length-8, err)
			}
		}
	}
}

// TestFuzzFindsAllocateLittle: the inputs FuzzReader once failed on,
// read with at most 64 MiB allocated.
func TestFuzzFindsAllocateLittle(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzReader/*")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if a := allocating(func() { _, err = readAll(t, []byte(data), Options{Dictionaries: true}) }); a > 64<<20 {
			t.Errorf("%s: %d bytes allocated (%v)", p, a, err)
		}
	}
}
