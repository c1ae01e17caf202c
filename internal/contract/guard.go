package contract

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"

	flatbuffers "github.com/google/flatbuffers/go"
)

// The Arrow Go IPC reader trusts the vector lengths inside a schema's
// flatbuffer and allocates by them, so a few corrupt bytes can make it ask
// for hundreds of gigabytes and crash the process (found by FuzzReader).
// checkSchemaFlatbuffer walks the schema's tables first and rejects any
// vector that claims more elements than the buffer can hold.

var errCorruptSchema = errors.New("corrupt schema message")

// maxSchemaMessage bounds the schema message we accept (siampipe's are ~2 KB).
const maxSchemaMessage = 60 << 10

// Flatbuffer vtable slots (4 + 2*field index) of the Arrow format tables.
const (
	slotMessageHeaderType = 6
	slotMessageHeader     = 8
	slotSchemaFields      = 6
	slotSchemaMetadata    = 8
	slotFieldChildren     = 14
	slotFieldMetadata     = 16
	slotFooterSchema      = 6
	headerTypeSchema      = 1
)

// streamSchemaBytes returns the flatbuffer of the first message of a stream
// whose first bytes are head, or how many bytes it needs.
func streamSchemaBytes(head []byte) (fb []byte, need int, err error) {
	off := 0
	if len(head) >= 4 && binary.LittleEndian.Uint32(head) == 0xFFFFFFFF {
		off = 4
	}
	if len(head) < off+4 {
		return nil, off + 4, nil
	}
	n := int(int32(binary.LittleEndian.Uint32(head[off:])))
	if n <= 0 || n > maxSchemaMessage {
		return nil, 0, fmt.Errorf("%w (length %d)", errCorruptSchema, n)
	}
	if len(head) < off+4+n {
		return nil, off + 4 + n, nil
	}
	return head[off+4 : off+4+n], 0, nil
}

// checkMessage validates a stream's schema Message flatbuffer.
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
	return checkSchemaTable(s, 0)
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
	return checkSchemaTable(s, 0)
}

func root(buf []byte) flatbuffers.Table {
	return flatbuffers.Table{Bytes: buf, Pos: flatbuffers.GetUOffsetT(buf)}
}

func checkSchemaTable(s flatbuffers.Table, depth int) error {
	if err := checkTableVector(s, slotSchemaFields, depth, checkFieldTable); err != nil {
		return err
	}
	return checkTableVector(s, slotSchemaMetadata, depth, nil)
}

func checkFieldTable(f flatbuffers.Table, depth int) error {
	if err := checkTableVector(f, slotFieldChildren, depth, checkFieldTable); err != nil {
		return err
	}
	return checkTableVector(f, slotFieldMetadata, depth, nil)
}

// checkTableVector checks that the vector of tables in slot fits in the
// buffer, and applies each (when not nil) to its elements.
func checkTableVector(t flatbuffers.Table, slot flatbuffers.VOffsetT, depth int, each func(flatbuffers.Table, int) error) error {
	if depth > 64 {
		return errCorruptSchema
	}
	o := t.Offset(slot)
	if o == 0 {
		return nil
	}
	n := t.VectorLen(flatbuffers.UOffsetT(o))
	start := t.Vector(flatbuffers.UOffsetT(o))
	if n < 0 || int(start)+4*n > len(t.Bytes) {
		return errCorruptSchema
	}
	for i := 0; i < n && each != nil; i++ {
		el := flatbuffers.Table{Bytes: t.Bytes, Pos: t.Indirect(start + flatbuffers.UOffsetT(4*i))}
		if err := each(el, depth+1); err != nil {
			return err
		}
	}
	return nil
}

const slotMessageBodyLength = 10

// maxMetadata bounds one message's flatbuffer metadata.
const maxMetadata = 64 << 20

// bodyPrealloc is the most of a message body allocated before its bytes
// arrive; larger bodies grow as they are read, so a corrupt length fails
// with "truncated" instead of a huge allocation.
const bodyPrealloc = 64 << 20

// messageReader frames the messages of an IPC stream like Arrow's own, but
// checks every length before it allocates (see the comment at the top).
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

func (r *messageReader) Message() (msg *ipc.Message, err error) {
	var b [4]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF // a stream ends with an end-of-stream marker
		}
		return nil, err
	}
	n := binary.LittleEndian.Uint32(b[:])
	if n == 0xFFFFFFFF {
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
	if err := checkBatch(meta, body); err != nil {
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

// Flatbuffer slots of a RecordBatch table, and message header types.
const (
	slotBatchLength      = 4
	slotBatchNodes       = 6
	slotBatchBuffers     = 8
	slotBatchCompression = 10
	headerTypeDictionary = 2
	headerTypeRecord     = 3
)

// maxBuffer bounds one decompressed buffer (1 GiB): far above any siampipe
// record batch, far below what a corrupt length prefix can ask for.
const maxBuffer = 1 << 30

var errCorruptBatch = errors.New("corrupt record batch")

// checkBatch validates a record batch message against its body before the
// Arrow reader allocates by its numbers: every buffer lies inside the body,
// and a compressed buffer's uncompressed-length prefix is bounded.
func checkBatch(meta, body []byte) error {
	return checkBatchAt(meta, int64(len(body)), func(off int64) (uint64, error) {
		return binary.LittleEndian.Uint64(body[off:]), nil
	})
}

// checkBatchAt is checkBatch for a body of bodyLen bytes whose 8-byte
// little-endian words prefix(off) reads.
func checkBatchAt(meta []byte, bodyLen int64, prefix func(off int64) (uint64, error)) (err error) {
	defer func() {
		if recover() != nil {
			err = errCorruptBatch
		}
	}()
	t := root(meta)
	o := t.Offset(slotMessageHeaderType)
	if o == 0 {
		return nil
	}
	switch t.GetByte(flatbuffers.UOffsetT(o) + t.Pos) {
	case headerTypeDictionary:
		return errors.New("dictionary batches are not part of the siampipe contract (write plain columns)")
	case headerTypeRecord:
	default:
		return nil
	}
	var b flatbuffers.Table
	t.Union(&b, flatbuffers.UOffsetT(t.Offset(slotMessageHeader)))
	if rows := int64(0); b.Offset(slotBatchLength) != 0 {
		rows = b.GetInt64(flatbuffers.UOffsetT(b.Offset(slotBatchLength)) + b.Pos)
		if rows < 0 || rows > maxBuffer {
			return fmt.Errorf("%w (%d rows)", errCorruptBatch, rows)
		}
	}
	for _, slot := range []flatbuffers.VOffsetT{slotBatchNodes, slotBatchBuffers} {
		if o := b.Offset(slot); o != 0 {
			n := b.VectorLen(flatbuffers.UOffsetT(o))
			if n < 0 || int(b.Vector(flatbuffers.UOffsetT(o)))+16*n > len(meta) {
				return errCorruptBatch
			}
		}
	}
	compressed := b.Offset(slotBatchCompression) != 0
	o = b.Offset(slotBatchBuffers)
	if o == 0 {
		return nil
	}
	n := b.VectorLen(flatbuffers.UOffsetT(o))
	start := b.Vector(flatbuffers.UOffsetT(o))
	for i := 0; i < n; i++ {
		p := start + flatbuffers.UOffsetT(16*i)
		off := flatbuffers.GetInt64(meta[p:])
		length := flatbuffers.GetInt64(meta[p+8:])
		if off < 0 || length < 0 || off > bodyLen || length > bodyLen-off {
			return fmt.Errorf("%w (buffer %d outside the body)", errCorruptBatch, i)
		}
		if compressed && length >= 8 {
			w, err := prefix(off)
			if err != nil {
				return err
			}
			if u := int64(w); u != -1 && (u < 0 || u > maxBuffer) {
				return fmt.Errorf("%w (buffer %d claims %d uncompressed bytes)", errCorruptBatch, i, u)
			}
		}
	}
	return nil
}

// Slots of the file Footer table.
const (
	slotFooterDictionaries = 8
	slotFooterRecords      = 10
)

// checkFileBlocks validates every record batch an IPC file's footer lists
// (footer is its flatbuffer, size the file's size) the way messageReader
// does for a stream: lengths first, then the batch against its body.
func checkFileBlocks(ras io.ReaderAt, footer []byte, size int64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errCorruptBatch
		}
	}()
	t := root(footer)
	if o := t.Offset(slotFooterDictionaries); o != 0 && t.VectorLen(flatbuffers.UOffsetT(o)) > 0 {
		return errors.New("dictionary batches are not part of the siampipe contract (write plain columns)")
	}
	o := t.Offset(slotFooterRecords)
	if o == 0 {
		return nil
	}
	n := t.VectorLen(flatbuffers.UOffsetT(o))
	start := t.Vector(flatbuffers.UOffsetT(o))
	if n < 0 || int(start)+24*n > len(footer) {
		return errCorruptBatch
	}
	for i := 0; i < n; i++ {
		p := start + flatbuffers.UOffsetT(24*i)
		off := flatbuffers.GetInt64(footer[p:])
		metaLen := int64(flatbuffers.GetInt32(footer[p+8:]))
		bodyLen := flatbuffers.GetInt64(footer[p+16:])
		if off < 0 || metaLen < 8 || metaLen > maxMetadata || bodyLen < 0 || off > size || metaLen > size-off || bodyLen > size-off-metaLen {
			return fmt.Errorf("%w (block %d outside the file)", errCorruptBatch, i)
		}
		frame := make([]byte, metaLen)
		if _, err := ras.ReadAt(frame, off); err != nil {
			return err
		}
		fb, _, err := streamSchemaBytes(frame) // the same framing as a stream message
		if err != nil || fb == nil {
			return errCorruptBatch
		}
		bodyAt := off + metaLen
		if err := checkBatchAt(fb, bodyLen, func(at int64) (uint64, error) {
			var w [8]byte
			_, err := ras.ReadAt(w[:], bodyAt+at)
			return binary.LittleEndian.Uint64(w[:]), err
		}); err != nil {
			return err
		}
	}
	return nil
}
