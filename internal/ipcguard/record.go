package ipcguard

import (
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// CheckRecord checks a record batch Arrow Go has read: every column has
// the batch's number of rows (Arrow Go lets columns be longer), and every
// array (nested ones too) has the buffers, offsets and children its
// length needs: a validity bitmap of its length wherever it has nulls,
// values for every row, offsets that do not decrease and end within
// their values, children at least as long as the rows refer to, and
// dictionary indices within their dictionary.
// Arrow Go checks none of these when it reads; a caller's plain use of
// the arrays would then read past them and panic, or read the spare
// capacity of a buffer as values.
//
// Arrays of union, view and run-end-encoded types are not looked into.
// The error wraps ErrCorruptBatch.
func CheckRecord(rec arrow.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w (%v)", ErrCorruptBatch, p)
		}
	}()
	rows := rec.NumRows()
	for i, col := range rec.Columns() {
		if int64(col.Len()) != rows {
			return fmt.Errorf("%w (%d rows, and column %q has %d)", ErrCorruptBatch, rows, rec.ColumnName(i), col.Len())
		}
		if err := checkData(col.Data(), col.DataType(), 0); err != nil {
			return fmt.Errorf("%w (column %q: %v)", ErrCorruptBatch, rec.ColumnName(i), err)
		}
	}
	return nil
}

// checkData checks d, an array of type t (its own type, or the storage
// type of its extension type).
func checkData(d arrow.ArrayData, t arrow.DataType, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deep")
	}
	n, off := d.Len(), d.Offset()
	if n < 0 || off < 0 || off > maxBuffer || n > maxBuffer {
		return fmt.Errorf("length %d at offset %d", n, off)
	}
	end := off + n
	bufs := d.Buffers()
	size := func(i int) int {
		if i >= len(bufs) || bufs[i] == nil {
			return 0
		}
		return bufs[i].Len()
	}
	if _, null := t.(*arrow.NullType); !null && n > 0 {
		nulls := d.NullN() // negative: unknown, counted from the bitmap
		switch {
		case nulls > n:
			return fmt.Errorf("%d nulls in %d values", nulls, n)
		case (nulls != 0 || size(0) > 0) && size(0) < bitmapBytes(end):
			return fmt.Errorf("a validity bitmap of %d bytes for %d values", size(0), end)
		}
	}
	children := d.Children()
	child := func(k int) (arrow.ArrayData, error) {
		if k >= len(children) || children[k] == nil {
			return nil, fmt.Errorf("%d child arrays", len(children))
		}
		return children[k], nil
	}
	switch t := t.(type) {
	case *arrow.NullType:
		return nil
	case *arrow.BooleanType:
		if size(1) < bitmapBytes(end) {
			return fmt.Errorf("%d bytes of values for %d booleans", size(1), end)
		}
		return nil
	case *arrow.DictionaryType:
		if err := checkData(d, t.IndexType, depth+1); err != nil {
			return fmt.Errorf("indices: %v", err)
		}
		dict := d.Dictionary()
		if dict == nil {
			return errors.New("no dictionary")
		}
		if err := checkData(dict, t.ValueType, depth+1); err != nil {
			return fmt.Errorf("dictionary: %v", err)
		}
		return checkIndices(d, t.IndexType, dict.Len())
	case *arrow.BinaryType, *arrow.StringType:
		return checkOffsets(bufs, off, n, 4, size(2))
	case *arrow.LargeBinaryType, *arrow.LargeStringType:
		return checkOffsets(bufs, off, n, 8, size(2))
	case *arrow.ListType, *arrow.MapType, *arrow.LargeListType:
		c, err := child(0)
		if err != nil {
			return err
		}
		width := 4
		if _, large := t.(*arrow.LargeListType); large {
			width = 8
		}
		if err := checkOffsets(bufs, off, n, width, c.Len()); err != nil {
			return err
		}
		return checkChild(c, t.(arrow.ListLikeType).Elem(), depth)
	case *arrow.FixedSizeListType:
		c, err := child(0)
		if err != nil {
			return err
		}
		if int64(c.Len()) < int64(end)*int64(t.Len()) {
			return fmt.Errorf("%d values for %d lists of %d", c.Len(), end, t.Len())
		}
		return checkChild(c, t.Elem(), depth)
	case *arrow.StructType:
		for k, f := range t.Fields() {
			c, err := child(k)
			if err != nil {
				return err
			}
			if c.Len() < end {
				return fmt.Errorf("field %q has %d values for %d rows", f.Name, c.Len(), end)
			}
			if err := checkChild(c, f.Type, depth); err != nil {
				return fmt.Errorf("field %q: %v", f.Name, err)
			}
		}
		return nil
	case arrow.ExtensionType:
		return checkData(d, t.StorageType(), depth+1)
	case arrow.FixedWidthDataType:
		if int64(size(1))*8 < int64(end)*int64(t.BitWidth()) {
			return fmt.Errorf("%d bytes of values for %d of %d bits", size(1), end, t.BitWidth())
		}
		return nil
	}
	return nil // unions, views, run-end encoded: not looked into
}

// checkChild checks the child array c of type t.
func checkChild(c arrow.ArrayData, t arrow.DataType, depth int) error {
	if err := checkData(c, t, depth+1); err != nil {
		return fmt.Errorf("values: %v", err)
	}
	return nil
}

func bitmapBytes(bits int) int { return (bits + 7) / 8 }

// checkIndices checks that the indices (of type t) of the dictionary
// array d's valid values lie in 0..n-1, once checkData has checked
// their buffers.
func checkIndices(d arrow.ArrayData, t arrow.DataType, n int) error {
	bufs := d.Buffers()
	var valid []byte
	if bufs[0] != nil && d.NullN() != 0 {
		valid = bufs[0].Bytes()
	}
	b := bufs[1].Bytes()
	var at func(i int) int64
	switch t.ID() {
	case arrow.INT8:
		at = func(i int) int64 { return int64(int8(b[i])) }
	case arrow.UINT8:
		at = func(i int) int64 { return int64(b[i]) }
	case arrow.INT16:
		v := arrow.Int16Traits.CastFromBytes(b)
		at = func(i int) int64 { return int64(v[i]) }
	case arrow.UINT16:
		v := arrow.Uint16Traits.CastFromBytes(b)
		at = func(i int) int64 { return int64(v[i]) }
	case arrow.INT32:
		v := arrow.Int32Traits.CastFromBytes(b)
		at = func(i int) int64 { return int64(v[i]) }
	case arrow.UINT32:
		v := arrow.Uint32Traits.CastFromBytes(b)
		at = func(i int) int64 { return int64(v[i]) }
	case arrow.INT64:
		v := arrow.Int64Traits.CastFromBytes(b)
		at = func(i int) int64 { return v[i] }
	case arrow.UINT64:
		v := arrow.Uint64Traits.CastFromBytes(b)
		at = func(i int) int64 {
			if v[i] > math.MaxInt64 {
				return -1
			}
			return int64(v[i])
		}
	default:
		return fmt.Errorf("dictionary indices of type %s", t)
	}
	for i := d.Offset(); i < d.Offset()+d.Len(); i++ {
		if valid != nil && !bitutil.BitIsSet(valid, i) {
			continue
		}
		if k := at(i); k < 0 || k >= int64(n) {
			return fmt.Errorf("dictionary index %d of a dictionary of %d values", k, n)
		}
	}
	return nil
}

// checkOffsets checks the offsets (buffer 1 of bufs, of width 4 or 8
// bytes each) of n values from offset off: they do not decrease and lie
// in 0..limit.
func checkOffsets(bufs []*memory.Buffer, off, n, width, limit int) error {
	if n == 0 {
		return nil
	}
	var b []byte
	if len(bufs) > 1 && bufs[1] != nil {
		b = bufs[1].Bytes()
	}
	if len(b) < (off+n+1)*width {
		return fmt.Errorf("%d bytes of offsets for %d values", len(b), off+n)
	}
	b = b[width*off : width*(off+n+1)]
	if width == 4 {
		return ordered(arrow.Int32Traits.CastFromBytes(b), off, limit)
	}
	return ordered(arrow.Int64Traits.CastFromBytes(b), off, limit)
}

// ordered checks that offsets (from position off) do not decrease and
// lie in 0..limit.
func ordered[T int32 | int64](offsets []T, off, limit int) error {
	prev := offsets[0]
	if prev < 0 {
		return fmt.Errorf("offset %d at %d", prev, off)
	}
	for i, o := range offsets[1:] {
		if o < prev {
			return fmt.Errorf("offset %d after %d at %d", o, prev, off+1+i)
		}
		prev = o
	}
	if int64(prev) > int64(limit) {
		return fmt.Errorf("offsets up to %d into %d values", prev, limit)
	}
	return nil
}
