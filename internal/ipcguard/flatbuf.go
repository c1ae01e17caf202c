package ipcguard

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// The Arrow Go IPC reader trusts the vector lengths inside a schema's
// flatbuffer and allocates by them (found by internal/contract's
// FuzzReader). The checks here walk the tables first and refuse any
// vector that claims more elements than the buffer can hold. Each
// recovers the panic of a read outside the buffer as an error.

// Flatbuffer vtable slots (4 + 2*field index) of the Arrow format tables.
const (
	slotMessageVersion     = 4
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
	slotCompressionCodec   = 4

	metadataV5 = 4 // MetadataVersion V5

	headerTypeSchema     = 1
	headerTypeDictionary = 2
	headerTypeRecord     = 3
	typeUnion            = 14
)

func root(buf []byte) flatbuffers.Table {
	return flatbuffers.Table{Bytes: buf, Pos: flatbuffers.GetUOffsetT(buf)}
}

// checkMessage validates a Message flatbuffer that holds a schema (any
// other message passes: its header is checked by checkBatch, or refused
// by Arrow Go).
func checkMessage(buf []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrCorruptSchema
		}
	}()
	t := root(buf)
	if o := t.Offset(slotMessageHeaderType); o == 0 || t.GetByte(flatbuffers.UOffsetT(o)+t.Pos) != headerTypeSchema {
		return nil
	}
	o := t.Offset(slotMessageHeader)
	if o == 0 {
		return ErrCorruptSchema
	}
	var s flatbuffers.Table
	t.Union(&s, flatbuffers.UOffsetT(o))
	return checkSchemaTable(s)
}

// checkFooter validates the schema inside an IPC file's footer flatbuffer.
func checkFooter(buf []byte) (err error) {
	defer func() {
		if recover() != nil {
			err = ErrCorruptSchema
		}
	}()
	t := root(buf)
	o := t.Offset(slotFooterSchema)
	if o == 0 {
		return ErrCorruptSchema
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
		return ErrCorruptSchema
	}
	return nil
}

// checkTableVector checks that the vector of tables in slot fits in the
// buffer, and applies each (when not nil) to its elements.
func checkTableVector(t flatbuffers.Table, slot flatbuffers.VOffsetT, depth int, each func(flatbuffers.Table, int) error) error {
	if depth > maxDepth {
		return ErrCorruptSchema
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

// bodyLength validates a message's metadata (checkMessage) and returns
// its body length.
func bodyLength(meta []byte) (n int64, err error) {
	defer func() {
		if recover() != nil {
			err = ErrCorruptSchema
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
		return 0, fmt.Errorf("%w (body length %d)", ErrCorruptSchema, n)
	}
	return n, nil
}
