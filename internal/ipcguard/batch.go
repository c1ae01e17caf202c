package ipcguard

import (
	"fmt"

	"github.com/apache/arrow/go/v15/arrow"

	flatbuffers "github.com/google/flatbuffers/go"
)

// batchInfo is what checkBatch learns of a record or dictionary batch.
type batchInfo struct {
	batch, dict    bool  // a record batch, a dictionary batch (else neither)
	v5             bool  // metadata version V5 or later
	rows           int64 // of a record batch
	nodes, buffers int   // lengths of its vectors
	body           int64 // body length
	compressed     bool
}

// Codecs of BodyCompression, and the most one byte of each codec's frames
// can decompress to, rounded up to a power of two: an LZ4 sequence's
// match length grows by 255 per byte; a zstd block (at least 4 bytes
// with its header) makes at most 128 KiB. A compressed buffer whose
// uncompressed-length prefix claims more than its bytes can make is
// corrupt, and Arrow Go would allocate by the claim before it finds out.
const (
	codecLZ4Frame = 0
	codecZstd     = 1
)

var maxRatio = map[int8]int64{codecLZ4Frame: 1 << 9, codecZstd: 1 << 16}

// checkBatch validates a record batch or dictionary batch message against
// its body of bodyLen bytes, whose 8-byte little-endian words prefix(off)
// reads, before the Arrow reader allocates by its numbers: the row count
// and vectors are bounded, every buffer lies inside the body, and a
// compressed buffer's uncompressed-length prefix is bounded (by maxBuffer
// and by what its compressed bytes can make). Other messages pass with a
// zero batchInfo but for body and v5.
func checkBatch(meta []byte, bodyLen int64, prefix func(off int64) (uint64, error)) (info batchInfo, err error) {
	defer func() {
		if recover() != nil {
			info, err = batchInfo{}, ErrCorruptBatch
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
			return info, ErrCorruptBatch
		}
		b = flatbuffers.Table{Bytes: meta, Pos: d.Indirect(flatbuffers.UOffsetT(do) + d.Pos)}
	default:
		return info, nil
	}
	if o := b.Offset(slotBatchLength); o != 0 {
		info.rows = b.GetInt64(flatbuffers.UOffsetT(o) + b.Pos)
		if info.rows < 0 || info.rows > maxBuffer {
			return info, fmt.Errorf("%w (%d rows)", ErrCorruptBatch, info.rows)
		}
	}
	for _, v := range []struct {
		slot flatbuffers.VOffsetT
		size int
		n    *int
	}{{slotBatchNodes, 16, &info.nodes}, {slotBatchBuffers, 16, &info.buffers}, {slotBatchVariadic, 8, nil}} {
		if checkVector(b, v.slot, v.size) != nil {
			return info, ErrCorruptBatch
		}
		if o := b.Offset(v.slot); o != 0 && v.n != nil {
			*v.n = b.VectorLen(flatbuffers.UOffsetT(o))
		}
	}
	ratio := int64(0) // the most a compressed byte decompresses to (0: a codec Arrow Go does not know)
	if o := b.Offset(slotBatchCompression); o != 0 {
		info.compressed = true
		c := flatbuffers.Table{Bytes: meta, Pos: b.Indirect(flatbuffers.UOffsetT(o) + b.Pos)}
		codec := int8(codecLZ4Frame) // the default
		if o := c.Offset(slotCompressionCodec); o != 0 {
			codec = c.GetInt8(flatbuffers.UOffsetT(o) + c.Pos)
		}
		ratio = maxRatio[codec]
	}
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
			return info, fmt.Errorf("%w (buffer %d outside the body)", ErrCorruptBatch, i)
		}
		if info.compressed && length >= 8 {
			w, err := prefix(off)
			if err != nil {
				return info, err
			}
			if u := int64(w); u != -1 && (u < 0 || u > maxBuffer || ratio > 0 && u/ratio > length-8) {
				return info, fmt.Errorf("%w (buffer %d claims %d uncompressed bytes of %d compressed)", ErrCorruptBatch, i, u, length-8)
			}
		}
	}
	return info, nil
}

// allowed refuses a dictionary batch unless opt lets dictionaries through.
func (opt Options) allowed(info batchInfo) error {
	if info.dict && !opt.Dictionaries {
		return ErrDictionary
	}
	return nil
}

// The Arrow Go reader takes a record batch's field nodes and buffers one
// after another as the schema's types need them, without checking that
// the batch has that many: past the end of its vectors it reads whatever
// bytes follow (and so a buffer length that can be anything, found by
// internal/table's FuzzArrow). need counts, as ipc's arrayLoaderContext
// does, the nodes and buffers a column of type t takes; ok is false for
// the types whose count depends on more than the type (views) or on the
// metadata version (unions), which the Allocator alone then guards.
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
			return fmt.Errorf("%w (a dictionary batch, and the schema has no dictionary)", ErrCorruptBatch)
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
		return fmt.Errorf("%w (%d field nodes and %d buffers where the schema takes %d and %d)", ErrCorruptBatch, info.nodes, info.buffers, nodes, buffers)
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
