package table

// The Arrow Go IPC reader trusts the lengths inside an IPC message and
// allocates by them, so a few corrupt bytes can make it ask for hundreds of
// gigabytes (internal/contract's FuzzReader found this). The checks here
// follow internal/contract/guard.go, which reads siampipe's own streams,
// with two differences for tables written elsewhere: dictionary batches
// are allowed (a dictionary-encoded label column), and an IPC file's
// record batches are counted from its footer.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	flatbuffers "github.com/google/flatbuffers/go"
)

var (
	errCorruptSchema = errors.New("corrupt schema message")
	errCorruptBatch  = errors.New("corrupt record batch")
)

// Flatbuffer vtable slots (4 + 2*field index) of the Arrow format tables.
const (
	slotMessageHeaderType  = 6
	slotMessageHeader      = 8
	slotMessageBodyLength  = 10
	slotSchemaFields       = 6
	slotSchemaMetadata     = 8
	slotFieldTypeType      = 8
	slotFieldType          = 10
	slotFieldChildren      = 14
	slotFieldMetadata      = 16
	slotUnionTypeIDs       = 6
	slotFooterSchema       = 6
	slotFooterDictionaries = 8
	slotFooterRecords      = 10
	slotBatchLength        = 4
	slotBatchNodes         = 6
	slotBatchBuffers       = 8
	slotBatchCompression   = 10
	slotBatchVariadic      = 12
	slotDictionaryData     = 6

	headerTypeSchema     = 1
	headerTypeDictionary = 2
	headerTypeRecord     = 3
	typeUnion            = 14
)

const (
	// maxMetadata bounds one message's flatbuffer metadata.
	maxMetadata = 64 << 20
	// bodyPrealloc is the most of a message body allocated before its
	// bytes arrive; larger bodies grow as they are read, so a corrupt
	// length fails with "truncated" instead of a huge allocation.
	bodyPrealloc = 64 << 20
	// maxBuffer bounds one decompressed buffer and a batch's row count.
	maxBuffer = 1 << 30
	// maxDepth bounds the nesting of fields.
	maxDepth = 64
)

func root(buf []byte) flatbuffers.Table {
	return flatbuffers.Table{Bytes: buf, Pos: flatbuffers.GetUOffsetT(buf)}
}

// checkMessage validates a Message flatbuffer that holds a schema.
func checkMessage(buf []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = errCorruptSchema
		}
	}()
	t := root(buf)
	if o := t.Offset(slotMessageHeaderType); o == 0 || t.GetByte(flatbuffers.UOffsetT(o)+t.Pos) != headerTypeSchema {
		return nil // not a schema message: arrow reports that itself
	}
	o := t.Offset(slotMessageHeader)
	if o == 0 {
		return errCorruptSchema
	}
	var s flatbuffers.Table
	t.Union(&s, flatbuffers.UOffsetT(o))
	return checkSchemaTable(s)
}

// checkFooter validates the schema inside an IPC file's footer flatbuffer.
func checkFooter(buf []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = errCorruptSchema
		}
	}()
	t := root(buf)
	o := t.Offset(slotFooterSchema)
	if o == 0 {
		return errCorruptSchema
	}
	s := flatbuffers.Table{Bytes: buf, Pos: t.Indirect(flatbuffers.UOffsetT(o) + t.Pos)}
	return checkSchemaTable(s)
}

func checkSchemaTable(s flatbuffers.Table) error {
	if err := checkTableVector(s, slotSchemaFields, 0, checkFieldTable); err != nil {
		return err
	}
	return checkTableVector(s, slotSchemaMetadata, 0, nil)
}

func checkFieldTable(f flatbuffers.Table, depth int) error {
	if err := checkTableVector(f, slotFieldChildren, depth, checkFieldTable); err != nil {
		return err
	}
	if o := f.Offset(slotFieldTypeType); o != 0 && f.GetByte(flatbuffers.UOffsetT(o)+f.Pos) == typeUnion {
		var u flatbuffers.Table
		if o := f.Offset(slotFieldType); o != 0 {
			f.Union(&u, flatbuffers.UOffsetT(o))
			if err := checkVector(u, slotUnionTypeIDs, 4); err != nil {
				return err
			}
		}
	}
	return checkTableVector(f, slotFieldMetadata, depth, nil)
}

// checkVector checks that the vector in slot, of elements of size bytes,
// fits in the buffer.
func checkVector(t flatbuffers.Table, slot flatbuffers.VOffsetT, size int) error {
	o := t.Offset(slot)
	if o == 0 {
		return nil
	}
	n := t.VectorLen(flatbuffers.UOffsetT(o))
	if n < 0 || int(t.Vector(flatbuffers.UOffsetT(o)))+size*n > len(t.Bytes) {
		return errCorruptSchema
	}
	return nil
}

// checkTableVector checks that the vector of tables in slot fits in the
// buffer, and applies each (when not nil) to its elements.
func checkTableVector(t flatbuffers.Table, slot flatbuffers.VOffsetT, depth int, each func(flatbuffers.Table, int) error) error {
	if depth > maxDepth {
		return errCorruptSchema
	}
	if err := checkVector(t, slot, 4); err != nil {
		return err
	}
	o := t.Offset(slot)
	if o == 0 || each == nil {
		return nil
	}
	n := t.VectorLen(flatbuffers.UOffsetT(o))
	start := t.Vector(flatbuffers.UOffsetT(o))
	for i := 0; i < n; i++ {
		el := flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(start + flatbuffers.UOffsetT(4*i))}
		if err := each(el, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// messageReader frames the messages of an IPC stream like Arrow's own, but
// checks every length before it allocates.
type messageReader struct {
	r   io.Reader
	msg *ipc.Message
}

func (r *messageReader) Retain() {}
func (r *messageReader) Release() {
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

func (r *messageReader) Message() (*ipc.Message, error) {
	var b [4]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF // a stream ends with an end-of-stream marker
		}
		return nil, err
	}
	n := binary.LittleEndian.Uint32(b[:])
	if n == 0xFFFFFFFF { // continuation marker (absent in the pre-0.15 framing)
		if _, err := io.ReadFull(r.r, b[:]); err != nil {
			return nil, noEOF(err)
		}
		n = binary.LittleEndian.Uint32(b[:])
	}
	if n == 0 {
		return nil, io.EOF // end-of-stream marker
	}
	if n > maxMetadata {
		return nil, fmt.Errorf("%w (metadata length %d)", errCorruptSchema, n)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(r.r, meta); err != nil {
		return nil, noEOF(err)
	}
	bodyLen, err := checkedBodyLength(meta)
	if err != nil {
		return nil, err
	}
	body := make([]byte, min(bodyLen, bodyPrealloc))
	got, err := io.ReadFull(r.r, body)
	for err == nil && int64(got) < bodyLen {
		body = append(body, make([]byte, min(bodyLen-int64(got), int64(len(body))))...)
		var m int
		m, err = io.ReadFull(r.r, body[got:])
		got += m
	}
	if err != nil {
		return nil, noEOF(err)
	}
	if _, err := checkBatch(meta, int64(len(body)), func(off int64) (uint64, error) {
		return binary.LittleEndian.Uint64(body[off:]), nil
	}); err != nil {
		return nil, err
	}
	r.Release()
	mb, bb := memory.NewBufferBytes(meta), memory.NewBufferBytes(body)
	r.msg = ipc.NewMessage(mb, bb)
	mb.Release()
	bb.Release()
	return r.msg, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// checkedBodyLength validates a message's metadata and returns its body length.
func checkedBodyLength(meta []byte) (n int64, err error) {
	defer func() {
		if recover() != nil {
			err = errCorruptSchema
		}
	}()
	if err := checkMessage(meta); err != nil {
		return 0, err
	}
	t := root(meta)
	if o := t.Offset(slotMessageBodyLength); o != 0 {
		n = t.GetInt64(flatbuffers.UOffsetT(o) + t.Pos)
	}
	if n < 0 {
		return 0, fmt.Errorf("%w (body length %d)", errCorruptSchema, n)
	}
	return n, nil
}

// checkBatch validates a record batch or dictionary batch message against
// its body of bodyLen bytes, whose 8-byte little-endian words prefix(off)
// reads, before the Arrow reader allocates by its numbers: the row count
// and vectors are bounded, every buffer lies inside the body, and a
// compressed buffer's uncompressed-length prefix is bounded. It returns
// the number of rows of a record batch (0 for other messages).
func checkBatch(meta []byte, bodyLen int64, prefix func(off int64) (uint64, error)) (rows int64, err error) {
	defer func() {
		if recover() != nil {
			rows, err = 0, errCorruptBatch
		}
	}()
	t := root(meta)
	o := t.Offset(slotMessageHeaderType)
	if o == 0 {
		return 0, nil
	}
	var b flatbuffers.Table
	switch t.GetByte(flatbuffers.UOffsetT(o) + t.Pos) {
	case headerTypeRecord:
		t.Union(&b, flatbuffers.UOffsetT(t.Offset(slotMessageHeader)))
	case headerTypeDictionary:
		var d flatbuffers.Table
		t.Union(&d, flatbuffers.UOffsetT(t.Offset(slotMessageHeader)))
		do := d.Offset(slotDictionaryData)
		if do == 0 {
			return 0, errCorruptBatch
		}
		b = flatbuffers.Table{Bytes: meta, Pos: d.Indirect(flatbuffers.UOffsetT(do) + d.Pos)}
	default:
		return 0, nil
	}
	if o := b.Offset(slotBatchLength); o != 0 {
		rows = b.GetInt64(flatbuffers.UOffsetT(o) + b.Pos)
		if rows < 0 || rows > maxBuffer {
			return 0, fmt.Errorf("%w (%d rows)", errCorruptBatch, rows)
		}
	}
	for _, v := range []struct {
		slot flatbuffers.VOffsetT
		size int
	}{{slotBatchNodes, 16}, {slotBatchBuffers, 16}, {slotBatchVariadic, 8}} {
		if checkVector(b, v.slot, v.size) != nil {
			return 0, errCorruptBatch
		}
	}
	compressed := b.Offset(slotBatchCompression) != 0
	o = b.Offset(slotBatchBuffers)
	if o == 0 {
		return rows, nil
	}
	n := b.VectorLen(flatbuffers.UOffsetT(o))
	start := b.Vector(flatbuffers.UOffsetT(o))
	for i := 0; i < n; i++ {
		p := start + flatbuffers.UOffsetT(16*i)
		off := flatbuffers.GetInt64(meta[p:])
		length := flatbuffers.GetInt64(meta[p+8:])
		if off < 0 || length < 0 || off > bodyLen || length > bodyLen-off {
			return 0, fmt.Errorf("%w (buffer %d outside the body)", errCorruptBatch, i)
		}
		if compressed && length >= 8 {
			w, err := prefix(off)
			if err != nil {
				return 0, err
			}
			if u := int64(w); u != -1 && (u < 0 || u > maxBuffer) {
				return 0, fmt.Errorf("%w (buffer %d claims %d uncompressed bytes)", errCorruptBatch, i, u)
			}
		}
	}
	return rows, nil
}

// frameMessage returns the flatbuffer of a message framed like a
// stream's (with or without the continuation marker) in frame.
func frameMessage(frame []byte) ([]byte, error) {
	off := 0
	if len(frame) >= 4 && binary.LittleEndian.Uint32(frame) == 0xFFFFFFFF {
		off = 4
	}
	if len(frame) < off+4 {
		return nil, errCorruptBatch
	}
	n := int(int32(binary.LittleEndian.Uint32(frame[off:])))
	if n <= 0 || n > len(frame)-off-4 {
		return nil, fmt.Errorf("%w (message length %d)", errCorruptBatch, n)
	}
	return frame[off+4 : off+4+n], nil
}

// guardFile validates an IPC file of size bytes before ipc.NewFileReader
// reads it: the footer, its schema, and every block it lists (dictionary
// and record batches), as messageReader does for a stream. It returns the
// file's number of rows.
func guardFile(ra io.ReaderAt, size int64) (rows int64, err error) {
	var tail [10]byte
	if size < int64(len(tail))+8 {
		return 0, errCorruptSchema
	}
	if _, err := ra.ReadAt(tail[:], size-10); err != nil {
		return 0, err
	}
	if string(tail[4:]) != arrowMagic {
		return 0, errors.New("no ARROW1 magic at the end (truncated?)")
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
	if n <= 0 || n > size-10-8 || n > maxMetadata {
		return 0, fmt.Errorf("%w (footer length %d)", errCorruptSchema, n)
	}
	footer := make([]byte, n)
	if _, err := ra.ReadAt(footer, size-10-n); err != nil {
		return 0, err
	}
	if err := checkFooter(footer); err != nil {
		return 0, err
	}
	if _, err := checkBlocks(ra, footer, slotFooterDictionaries, size); err != nil {
		return 0, err
	}
	return checkBlocks(ra, footer, slotFooterRecords, size)
}

// checkBlocks checks the blocks listed in the footer's vector in slot and
// returns their total number of rows.
func checkBlocks(ra io.ReaderAt, footer []byte, slot flatbuffers.VOffsetT, size int64) (rows int64, err error) {
	defer func() {
		if recover() != nil {
			rows, err = 0, errCorruptBatch
		}
	}()
	t := root(footer)
	o := t.Offset(slot)
	if o == 0 {
		return 0, nil
	}
	n := t.VectorLen(flatbuffers.UOffsetT(o))
	start := t.Vector(flatbuffers.UOffsetT(o))
	if n < 0 || int(start)+24*n > len(footer) {
		return 0, errCorruptBatch
	}
	for i := 0; i < n; i++ {
		p := start + flatbuffers.UOffsetT(24*i)
		off := flatbuffers.GetInt64(footer[p:])
		metaLen := int64(flatbuffers.GetInt32(footer[p+8:]))
		bodyLen := flatbuffers.GetInt64(footer[p+16:])
		if off < 0 || metaLen < 8 || metaLen > maxMetadata || bodyLen < 0 || off > size || metaLen > size-off || bodyLen > size-off-metaLen {
			return 0, fmt.Errorf("%w (block %d outside the file)", errCorruptBatch, i)
		}
		frame := make([]byte, metaLen)
		if _, err := ra.ReadAt(frame, off); err != nil {
			return 0, err
		}
		fb, err := frameMessage(frame)
		if err != nil {
			return 0, err
		}
		bodyAt := off + metaLen
		r, err := checkBatch(fb, bodyLen, func(at int64) (uint64, error) {
			var w [8]byte
			_, err := ra.ReadAt(w[:], bodyAt+at)
			return binary.LittleEndian.Uint64(w[:]), err
		})
		if err != nil {
			return 0, err
		}
		if rows += r; rows > maxBuffer*64 {
			return 0, fmt.Errorf("%w (%d rows)", errCorruptBatch, rows)
		}
	}
	return rows, nil
}
