package contract

import (
	"fmt"
	"io"
	"os"
)

// maxHint bounds the values a size hint preallocates (16 GiB of float32).
const maxHint = 1 << 32

// fileSize returns the size of r when it is a regular file, else 0.
func fileSize(r io.Reader) int64 {
	f, ok := r.(*os.File)
	if !ok {
		return 0
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	return st.Size()
}

// grow returns s with room for n more elements, doubling its capacity
// when it must grow (append grows large slices by a quarter, so reading a
// stream batch by batch would copy it several times over).
func grow[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	g := make([]T, len(s), max(2*cap(s), len(s)+n))
	copy(g, s)
	return g
}

// appendAll is append(dst, src...) with grow's doubling.
func appendAll[T any](dst, src []T) []T { return append(grow(dst, len(src)), src...) }

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
	// A file's size bounds its rows: room for all of them at once, rather
	// than append's copies of a growing slice (gigabytes of copying, and
	// copies too long for the garbage collector to stop, for a features
	// file of 500 MB).
	if size := fileSize(r); size > 0 {
		perRow := int64(m.Dim) // image bytes
		if m.Kind == KindFeatures {
			perRow *= 4
		}
		if rows := size / max(perRow, 1); rows*int64(m.Dim) <= maxHint {
			m.Index = make([]int64, 0, rows)
			m.Label = make([]uint8, 0, rows)
			m.Data = make([]float32, 0, rows*int64(m.Dim))
		}
	}
	for rd.Next() {
		switch rd.Kind() {
		case KindFeatures:
			b := rd.Features()
			m.Index = appendAll(m.Index, b.Index)
			m.Label = appendAll(m.Label, b.Label)
			m.Data = appendAll(m.Data, b.Values)
		case KindImages:
			b := rd.Images()
			m.Index = appendAll(m.Index, b.Index)
			m.Label = appendAll(m.Label, b.Label)
			m.Data = grow(m.Data, len(b.Pixels))
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
