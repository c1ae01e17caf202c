package contract

import (
	"fmt"
	"io"
)

// Matrix is a whole features (or images) stream loaded into memory: Rows
// rows of Dim float32 values each, row-major in Data.
type Matrix struct {
	Kind  string // the kind of the stream it came from
	Meta  Meta   // that stream's metadata
	Rows  int
	Dim   int
	Index []int64
	Label []uint8 // undefined when !Labelled
	Data  []float32
	// Labelled is false for a stream whose label column is all null.
	Labelled bool
}

// Row returns row i of m.
func (m *Matrix) Row(i int) []float32 { return m.Data[i*m.Dim : (i+1)*m.Dim] }

// ReadMatrix reads a whole features stream, or an images stream whose pixels
// become features (value/255), into a Matrix.
func ReadMatrix(r io.Reader) (*Matrix, error) {
	rd, err := NewReader(r, KindFeatures, KindImages)
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	m := &Matrix{Kind: rd.Kind(), Meta: rd.Meta(), Dim: rd.Dim()}
	for rd.Next() {
		switch rd.Kind() {
		case KindFeatures:
			b := rd.Features()
			m.Index = append(m.Index, b.Index...)
			m.Label = append(m.Label, b.Label...)
			m.Data = append(m.Data, b.Values...)
		case KindImages:
			b := rd.Images()
			m.Index = append(m.Index, b.Index...)
			m.Label = append(m.Label, b.Label...)
			for _, p := range b.Pixels {
				m.Data = append(m.Data, float32(p)/255)
			}
		}
	}
	if err := rd.Err(); err != nil {
		return nil, err
	}
	m.Rows = len(m.Index)
	m.Labelled = rd.Labelled()
	if m.Rows == 0 {
		return nil, fmt.Errorf("input %s stream has no rows", m.Kind)
	}
	return m, nil
}
