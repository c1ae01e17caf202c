package contract

import (
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Tensor is one named tensor of a model checkpoint: float32 values in
// row-major order of Shape.
type Tensor struct {
	Name   string
	Shape  []int
	Values []float32
}

// Size returns the number of elements Shape calls for.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// WriteModel writes a model checkpoint, one row per tensor in the order
// given, to w. meta should carry MetaArch, MetaEpoch, MetaStep, MetaSeed and
// every hyperparameter.
func WriteModel(w io.Writer, meta Meta, tensors []Tensor, opt Options) error {
	schema := ModelSchema(meta)
	mem := memory.DefaultAllocator
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	names := b.Field(0).(*array.StringBuilder)
	shapes := b.Field(1).(*array.ListBuilder)
	shapeVals := shapes.ValueBuilder().(*array.Int32Builder)
	values := b.Field(2).(*array.ListBuilder)
	vals := values.ValueBuilder().(*array.Float32Builder)
	for _, t := range tensors {
		if t.Size() != len(t.Values) {
			return fmt.Errorf("write model: tensor %s has shape %v but %d values", t.Name, t.Shape, len(t.Values))
		}
		names.Append(t.Name)
		shapes.Append(true)
		for _, d := range t.Shape {
			shapeVals.Append(int32(d))
		}
		values.Append(true)
		vals.AppendValues(t.Values, nil)
	}
	rec := b.NewRecord()
	defer rec.Release()
	iw := ipc.NewWriter(w, opt.ipcOptions(schema)...)
	if err := iw.Write(rec); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// ReadModel reads a whole model checkpoint from r: its metadata and its
// tensors, copied out of the Arrow buffers.
func ReadModel(r io.Reader) (Meta, []Tensor, error) {
	rd, err := NewReader(r, KindModel)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Release()
	var ts []Tensor
	for rd.Next() {
		rec := rd.Record()
		names := rec.Column(0).(*array.String)
		shapes := rec.Column(1).(*array.List)
		shapeVals := shapes.ListValues().(*array.Int32).Int32Values()
		values := rec.Column(2).(*array.List)
		vals := values.ListValues().(*array.Float32).Float32Values()
		for i := 0; i < int(rec.NumRows()); i++ {
			t := Tensor{Name: names.Value(i)}
			s, e := shapes.ValueOffsets(i)
			for _, d := range shapeVals[s:e] {
				t.Shape = append(t.Shape, int(d))
			}
			s, e = values.ValueOffsets(i)
			t.Values = append([]float32(nil), vals[s:e]...)
			if t.Size() != len(t.Values) {
				return nil, nil, fmt.Errorf("model tensor %s has shape %v but %d values (corrupt checkpoint?)", t.Name, t.Shape, len(t.Values))
			}
			ts = append(ts, t)
		}
	}
	if err := rd.Err(); err != nil {
		return nil, nil, err
	}
	if len(ts) == 0 {
		return nil, nil, fmt.Errorf("model checkpoint has no tensors (truncated?)")
	}
	return rd.Meta(), ts, nil
}

// FindTensor returns the tensor called name, or false.
func FindTensor(ts []Tensor, name string) (Tensor, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}
