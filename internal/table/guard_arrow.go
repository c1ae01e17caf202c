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

	"github.com/apache/arrow/go/v15/arrow"
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
	slotMessageVersion     = 4
	metadataV5             = 4

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
// checks every length before it allocates. Once the reader has the
// schema, each batch is checked against it too, and alloc (the reader's
// allocator) limited to what the batch's body can hold.
type messageReader struct {
	r      io.Reader
	msg    *ipc.Message
	schema *arrow.Schema
	alloc  *limitAllocator
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
	info, err := checkBatch(meta, int64(len(body)), func(off int64) (uint64, error) {
		return binary.LittleEndian.Uint64(body[off:]), nil
	})
	if err != nil {
		return nil, err
	}
	if r.schema != nil {
		if err := info.fits(r.schema); err != nil {
			return nil, err
		}
	}
	r.alloc.set(info)
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

// batchInfo is what checkBatch learns of a record or dictionary batch.
type batchInfo struct {
	batch, dict    bool  // a record batch, a dictionary batch (else neither)
	v5             bool  // metadata version V5 or later
	rows           int64 // of a record batch
	nodes, buffers int   // lengths of its vectors
	body           int64 // body length
	compressed     bool
}

// checkBatch validates a record batch or dictionary batch message against
// its body of bodyLen bytes, whose 8-byte little-endian words prefix(off)
// reads, before the Arrow reader allocates by its numbers: the row count
// and vectors are bounded, every buffer lies inside the body, and a
// compressed buffer's uncompressed-length prefix is bounded.
func checkBatch(meta []byte, bodyLen int64, prefix func(off int64) (uint64, error)) (info batchInfo, err error) {
	defer func() {
		if recover() != nil {
			info, err = batchInfo{}, errCorruptBatch
		}
	}()
	info.body = bodyLen
	t := root(meta)
	info.v5 = t.Offset(slotMessageVersion) != 0 && t.GetInt16(flatbuffers.UOffsetT(t.Offset(slotMessageVersion))+t.Pos) >= metadataV5
	o := t.Offset(slotMessageHeaderType)
	if o == 0 {
		return info, nil
	}
	var b flatbuffers.Table
	switch t.GetByte(flatbuffers.UOffsetT(o) + t.Pos) {
	case headerTypeRecord:
		info.batch = true
		t.Union(&b, flatbuffers.UOffsetT(t.Offset(slotMessageHeader)))
	case headerTypeDictionary:
		info.dict = true
		var d flatbuffers.Table
		t.Union(&d, flatbuffers.UOffsetT(t.Offset(slotMessageHeader)))
		do := d.Offset(slotDictionaryData)
		if do == 0 {
			return info, errCorruptBatch
		}
		b = flatbuffers.Table{Bytes: meta, Pos: d.Indirect(flatbuffers.UOffsetT(do) + d.Pos)}
	default:
		return info, nil
	}
	if o := b.Offset(slotBatchLength); o != 0 {
		info.rows = b.GetInt64(flatbuffers.UOffsetT(o) + b.Pos)
		if info.rows < 0 || info.rows > maxBuffer {
			return info, fmt.Errorf("%w (%d rows)", errCorruptBatch, info.rows)
		}
	}
	for _, v := range []struct {
		slot flatbuffers.VOffsetT
		size int
		n    *int
	}{{slotBatchNodes, 16, &info.nodes}, {slotBatchBuffers, 16, &info.buffers}, {slotBatchVariadic, 8, nil}} {
		if checkVector(b, v.slot, v.size) != nil {
			return info, errCorruptBatch
		}
		if o := b.Offset(v.slot); o != 0 && v.n != nil {
			*v.n = b.VectorLen(flatbuffers.UOffsetT(o))
		}
	}
	info.compressed = b.Offset(slotBatchCompression) != 0
	o = b.Offset(slotBatchBuffers)
	if o == 0 {
		return info, nil
	}
	start := b.Vector(flatbuffers.UOffsetT(o))
	for i := 0; i < info.buffers; i++ {
		p := start + flatbuffers.UOffsetT(16*i)
		off := flatbuffers.GetInt64(meta[p:])
		length := flatbuffers.GetInt64(meta[p+8:])
		if off < 0 || length < 0 || off > bodyLen || length > bodyLen-off {
			return info, fmt.Errorf("%w (buffer %d outside the body)", errCorruptBatch, i)
		}
		if info.compressed && length >= 8 {
			w, err := prefix(off)
			if err != nil {
				return info, err
			}
			if u := int64(w); u != -1 && (u < 0 || u > maxBuffer) {
				return info, fmt.Errorf("%w (buffer %d claims %d uncompressed bytes)", errCorruptBatch, i, u)
			}
		}
	}
	return info, nil
}

// The Arrow Go reader takes a record batch's field nodes and buffers one
// after another as the schema's types need them, without checking that
// the batch has that many: past the end of its vectors it reads whatever
// bytes follow (and so a buffer length that can be anything, found by
// FuzzArrow). need counts, as ipc's arrayLoaderContext does, the nodes and
// buffers a column of type t takes; ok is false for the types whose count
// depends on more than the type (views) or on the metadata version
// (unions), which limitAllocator alone then guards.
func need(t arrow.DataType, v5 bool) (nodes, buffers int, ok bool) {
	add := func(ts ...arrow.DataType) (int, int, bool) {
		for _, c := range ts {
			n, b, ok := need(c, v5)
			if !ok {
				return 0, 0, false
			}
			nodes, buffers = nodes+n, buffers+b
		}
		return nodes, buffers, true
	}
	switch t := t.(type) {
	case *arrow.NullType:
		return 1, 0, true
	case *arrow.DictionaryType:
		return 1, 2, true
	case *arrow.BinaryType, *arrow.StringType, *arrow.LargeStringType, *arrow.LargeBinaryType:
		return 1, 3, true
	case *arrow.ListType, *arrow.LargeListType, *arrow.MapType:
		nodes, buffers = 1, 2
		return add(t.(arrow.ListLikeType).Elem())
	case *arrow.FixedSizeListType:
		nodes, buffers = 1, 1
		return add(t.Elem())
	case *arrow.ListViewType, *arrow.LargeListViewType:
		nodes, buffers = 1, 3
		return add(t.(arrow.ListLikeType).Elem())
	case *arrow.StructType:
		nodes, buffers = 1, 1
		for _, f := range t.Fields() {
			if _, _, ok := add(f.Type); !ok {
				return 0, 0, false
			}
		}
		return nodes, buffers, true
	case *arrow.RunEndEncodedType:
		nodes = 1
		if !v5 {
			buffers = 1
		}
		return add(t.RunEnds(), t.Encoded())
	case arrow.ExtensionType:
		return need(t.StorageType(), v5)
	case arrow.BinaryViewDataType, arrow.UnionType:
		return 0, 0, false
	case arrow.FixedWidthDataType:
		return 1, 2, true
	}
	return 0, 0, false
}

// fits checks that a record batch has the nodes and buffers that the
// columns of schema take, and a dictionary batch those of one of the
// schema's dictionaries at least.
func (info batchInfo) fits(schema *arrow.Schema) error {
	var types []arrow.DataType
	switch {
	case info.batch:
		for _, f := range schema.Fields() {
			types = append(types, f.Type)
		}
	case info.dict:
		types = dictValueTypes(schema)
		if len(types) == 0 {
			return fmt.Errorf("%w (a dictionary batch, and the schema has no dictionary)", errCorruptBatch)
		}
	default:
		return nil
	}
	nodes, buffers := 0, 0
	for i, t := range types {
		n, b, ok := need(t, info.v5)
		if !ok {
			return nil
		}
		if info.dict { // the fewest over the dictionaries
			if i == 0 || b < buffers {
				nodes, buffers = n, b
			}
			continue
		}
		nodes, buffers = nodes+n, buffers+b
	}
	if info.nodes < nodes || info.buffers < buffers {
		return fmt.Errorf("%w (%d field nodes and %d buffers where the schema takes %d and %d)", errCorruptBatch, info.nodes, info.buffers, nodes, buffers)
	}
	return nil
}

// dictValueTypes returns the value types of the schema's dictionaries.
func dictValueTypes(schema *arrow.Schema) []arrow.DataType {
	var out []arrow.DataType
	var walk func(t arrow.DataType)
	walk = func(t arrow.DataType) {
		switch t := t.(type) {
		case *arrow.DictionaryType:
			out = append(out, t.ValueType)
			walk(t.ValueType)
		case arrow.NestedType:
			for _, f := range t.Fields() {
				walk(f.Type)
			}
		}
	}
	for _, f := range schema.Fields() {
		walk(f.Type)
	}
	return out
}

// limitAllocator is Go's allocator, refusing any one allocation above
// its limit with a panic (which ipc.Reader and protect turn into an
// error). The readers set the limit per batch to what its body can
// hold: the body length (at least minLimit, for dictionary deltas that
// join earlier ones) or, for a compressed body, maxBuffer.
type limitAllocator struct {
	memory.Allocator
	limit int64
}

const minLimit = 64 << 20

func newLimitAllocator() *limitAllocator {
	return &limitAllocator{Allocator: memory.NewGoAllocator(), limit: minLimit}
}

// set sets the limit for reading a batch.
func (a *limitAllocator) set(info batchInfo) {
	a.limit = max(info.body, minLimit)
	if info.compressed {
		a.limit = maxBuffer
	}
}

func (a *limitAllocator) check(n int) {
	if n < 0 || int64(n) > a.limit {
		panic(fmt.Sprintf("allocation of %d bytes refused (at most %d for this batch)", n, a.limit))
	}
}

func (a *limitAllocator) Allocate(n int) []byte {
	a.check(n)
	return a.Allocator.Allocate(n)
}

func (a *limitAllocator) Reallocate(n int, b []byte) []byte {
	a.check(n)
	return a.Allocator.Reallocate(n, b)
}

// blockMessage returns the flatbuffer of the message in an IPC file's
// block, whose first metaLen bytes are frame, exactly as ipc.FileReader
// takes it (fileBlock.NewMessage): after a prefix of 8 bytes (a
// continuation marker and a length), 4 (a length, before Arrow 0.15) or
// none (a first word of zero), up to the block's metadata length.
func blockMessage(frame []byte) []byte {
	switch binary.LittleEndian.Uint32(frame) {
	case 0:
		return frame
	case 0xFFFFFFFF:
		return frame[8:]
	}
	return frame[4:]
}

// guardFile validates an IPC file of size bytes before ipc.NewFileReader
// reads it: the footer, its schema, and every block it lists (dictionary
// and record batches), as messageReader does for a stream. It returns
// what it learnt of the dictionary and record batches.
func guardFile(ra io.ReaderAt, size int64) (dicts, records []batchInfo, err error) {
	var tail [10]byte
	if size < int64(len(tail))+8 {
		return nil, nil, errCorruptSchema
	}
	if _, err := ra.ReadAt(tail[:], size-10); err != nil {
		return nil, nil, err
	}
	if string(tail[4:]) != arrowMagic {
		return nil, nil, errors.New("no ARROW1 magic at the end (truncated?)")
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
	if n <= 0 || n > size-10-8 || n > maxMetadata {
		return nil, nil, fmt.Errorf("%w (footer length %d)", errCorruptSchema, n)
	}
	footer := make([]byte, n)
	if _, err := ra.ReadAt(footer, size-10-n); err != nil {
		return nil, nil, err
	}
	if err := checkFooter(footer); err != nil {
		return nil, nil, err
	}
	if dicts, err = checkBlocks(ra, footer, slotFooterDictionaries, size); err != nil {
		return nil, nil, err
	}
	records, err = checkBlocks(ra, footer, slotFooterRecords, size)
	return dicts, records, err
}

// checkBlocks checks the blocks listed in the footer's vector in slot.
func checkBlocks(ra io.ReaderAt, footer []byte, slot flatbuffers.VOffsetT, size int64) (infos []batchInfo, err error) {
	defer func() {
		if recover() != nil {
			infos, err = nil, errCorruptBatch
		}
	}()
	t := root(footer)
	o := t.Offset(slot)
	if o == 0 {
		return nil, nil
	}
	n := t.VectorLen(flatbuffers.UOffsetT(o))
	start := t.Vector(flatbuffers.UOffsetT(o))
	if n < 0 || int(start)+24*n > len(footer) {
		return nil, errCorruptBatch
	}
	rows := int64(0)
	for i := 0; i < n; i++ {
		p := start + flatbuffers.UOffsetT(24*i)
		off := flatbuffers.GetInt64(footer[p:])
		metaLen := int64(flatbuffers.GetInt32(footer[p+8:]))
		bodyLen := flatbuffers.GetInt64(footer[p+16:])
		if off < 0 || metaLen < 8 || metaLen > maxMetadata || bodyLen < 0 || off > size || metaLen > size-off || bodyLen > size-off-metaLen {
			return nil, fmt.Errorf("%w (block %d outside the file)", errCorruptBatch, i)
		}
		frame := make([]byte, metaLen)
		if _, err := ra.ReadAt(frame, off); err != nil {
			return nil, err
		}
		fb := blockMessage(frame)
		bodyAt := off + metaLen
		info, err := checkBatch(fb, bodyLen, func(at int64) (uint64, error) {
			var w [8]byte
			_, err := ra.ReadAt(w[:], bodyAt+at)
			return binary.LittleEndian.Uint64(w[:]), err
		})
		if err != nil {
			return nil, err
		}
		if rows += info.rows; rows > maxBuffer*64 {
			return nil, fmt.Errorf("%w (%d rows)", errCorruptBatch, rows)
		}
		infos = append(infos, info)
	}
	return infos, nil
}
