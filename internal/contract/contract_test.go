package contract

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func pixels(i, n int) []uint8 {
	p := make([]uint8, n)
	for j := range p {
		p[j] = uint8(i*31 + j)
	}
	return p
}

// imagesStream writes n 3x4 images in batches of batch rows.
func imagesStream(t testing.TB, n int, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewImagesWriter(&b, 3, 4, Meta{MetaSplit: "test", MetaSource: "unit"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := w.Append(int64(i), uint8(i%10), pixels(i, 12)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImagesRoundTrip(t *testing.T) {
	for _, opt := range []Options{{}, {BatchRows: 3}, {Compress: "zstd", BatchRows: 4}} {
		data := imagesStream(t, 10, opt)
		r, err := NewReader(bytes.NewReader(data), KindImages)
		if err != nil {
			t.Fatal(err)
		}
		if r.Height() != 3 || r.Width() != 4 || r.Dim() != 12 || r.Meta()[MetaSplit] != "test" {
			t.Fatalf("header: %d %d %d %v", r.Height(), r.Width(), r.Dim(), r.Meta())
		}
		i, batches := 0, 0
		for r.Next() {
			b := r.Images()
			batches++
			for j := 0; j < b.N; j++ {
				if b.Index[j] != int64(i) || b.Label[j] != uint8(i%10) || !bytes.Equal(b.Pixels[j*12:(j+1)*12], pixels(i, 12)) {
					t.Fatalf("opt %+v row %d differs", opt, i)
				}
				i++
			}
		}
		if err := r.Err(); err != nil || i != 10 {
			t.Fatalf("opt %+v: %d rows, err %v", opt, i, err)
		}
		rows := opt.BatchRows
		if rows == 0 {
			rows = DefaultBatchRows
		}
		if want := (10 + rows - 1) / rows; batches != want {
			t.Fatalf("opt %+v: %d batches, want %d", opt, batches, want)
		}
		r.Release()
	}
}

func TestWritersAreDeterministic(t *testing.T) {
	a := imagesStream(t, 50, Options{Compress: "zstd", BatchRows: 7})
	b := imagesStream(t, 50, Options{Compress: "zstd", BatchRows: 7})
	if !bytes.Equal(a, b) {
		t.Fatal("same rows gave different bytes")
	}
}

func TestPairsFeaturesCoordsRoundTrip(t *testing.T) {
	var pb, fb, cb bytes.Buffer
	pw, _ := NewPairsWriter(&pb, 2, 2, Meta{MetaEpochs: "2", MetaRowsPerEpoch: "3"}, Options{BatchRows: 2})
	fw, _ := NewFeaturesWriter(&fb, 5, Meta{MetaLayer: "backbone"}, Options{})
	cw, _ := NewCoordsWriter(&cb, 3, nil, Options{BatchRows: 1})
	for i := 0; i < 6; i++ {
		f := []float32{float32(i), 1, 2, 3, -float32(i)}
		if err := pw.Append(int64(i%3), 7, int32(i/3), pixels(i, 4), pixels(i+1, 4)); err != nil {
			t.Fatal(err)
		}
		if err := fw.Append(int64(i), 1, f); err != nil {
			t.Fatal(err)
		}
		if err := cw.Append(int64(i), 2, f[:3]); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range []interface{ Close() error }{pw, fw, cw} {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReader(&pb, KindPairs)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Meta().Int(MetaRowsPerEpoch); n != 3 {
		t.Fatalf("rows per epoch %d", n)
	}
	i := 0
	for r.Next() {
		b := r.Pairs()
		for j := 0; j < b.N; j++ {
			if b.Epoch[j] != int32(i/3) || !bytes.Equal(b.View1[j*4:j*4+4], pixels(i, 4)) || !bytes.Equal(b.View2[j*4:j*4+4], pixels(i+1, 4)) {
				t.Fatalf("pair %d differs", i)
			}
			i++
		}
	}
	if i != 6 || r.Err() != nil {
		t.Fatalf("%d pairs, %v", i, r.Err())
	}
	m, err := ReadMatrix(&fb)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 6 || m.Dim != 5 || m.Row(4)[4] != -4 || m.Meta[MetaLayer] != "backbone" {
		t.Fatalf("features matrix %+v", m)
	}
	r, err = NewReader(&cb, KindCoords)
	if err != nil {
		t.Fatal(err)
	}
	i = 0
	for r.Next() {
		b := r.Coords()
		if b.N != 1 || b.Values[0] != float32(i) || len(b.Values) != 3 {
			t.Fatalf("coords batch %d: %+v", i, b)
		}
		i++
	}
	if i != 6 {
		t.Fatalf("%d coords", i)
	}
}

func TestReadMatrixScalesPixels(t *testing.T) {
	m, err := ReadMatrix(bytes.NewReader(imagesStream(t, 3, Options{})))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != KindImages || m.Dim != 12 || m.Rows != 3 || m.Row(2)[1] != float32(pixels(2, 12)[1])/255 {
		t.Fatalf("matrix %+v", m)
	}
}

func TestModelRoundTrip(t *testing.T) {
	ts := []Tensor{
		{Name: "backbone.conv1.weight", Shape: []int{2, 1, 3, 3}, Values: make([]float32, 18)},
		{Name: "backbone.bn1.running_var", Shape: []int{2}, Values: []float32{1, 2}},
		{Name: "scalar", Shape: nil, Values: []float32{3}},
	}
	ts[0].Values[17] = 1.5
	var b bytes.Buffer
	if err := WriteModel(&b, Meta{MetaArch: "seed", MetaEpoch: "3"}, ts, Options{Compress: "zstd"}); err != nil {
		t.Fatal(err)
	}
	meta, got, err := ReadModel(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if meta[MetaArch] != "seed" || len(got) != 3 || got[0].Values[17] != 1.5 || got[1].Shape[0] != 2 || got[2].Size() != 1 {
		t.Fatalf("model %v %+v", meta, got)
	}
	if _, ok := FindTensor(got, "backbone.bn1.running_var"); !ok {
		t.Fatal("FindTensor")
	}
	if err := WriteModel(&b, nil, []Tensor{{Name: "bad", Shape: []int{2}, Values: []float32{1}}}, Options{}); err == nil {
		t.Fatal("shape/values mismatch accepted")
	}
	// Truncated checkpoint.
	if _, _, err := ReadModel(bytes.NewReader(b.Bytes()[:b.Len()/2])); err == nil {
		t.Fatal("truncated checkpoint accepted")
	}
}

func TestReaderRejectsWrongInput(t *testing.T) {
	images := imagesStream(t, 5, Options{})
	var feats bytes.Buffer
	fw, _ := NewFeaturesWriter(&feats, 4, nil, Options{})
	fw.Append(0, 0, make([]float32, 4))
	fw.Close()
	foreign := foreignStream(t, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil))
	md := arrow.NewMetadata([]string{MetaKind, MetaHeight, MetaWidth}, []string{KindImages, "2", "2"})
	badCols := foreignStream(t, arrow.NewSchema([]arrow.Field{{Name: "index", Type: arrow.PrimitiveTypes.Int32}}, &md))
	tests := []struct {
		name  string
		in    []byte
		kinds []string
		want  string
	}{
		{"features for images", feats.Bytes(), []string{KindImages}, "input is a features stream, expected images (did you pipe fetch's output?)"},
		{"images for pairs", images, []string{KindPairs}, "input is an images stream, expected pairs (did you pipe augment's output?)"},
		{"images for features or coords", images, []string{KindFeatures, KindCoords}, "expected features or coords"},
		{"empty", nil, []string{KindImages}, "input is empty, expected images"},
		{"text", []byte("hello, world\n"), []string{KindImages}, "is not an Arrow IPC stream"},
		{"no kind", foreign, []string{KindImages}, "without siampipe.kind metadata"},
		{"wrong columns", badCols, []string{KindImages}, "has 1 columns, expected 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tc.in), tc.kinds...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
	if _, err := NewReader(bytes.NewReader(feats.Bytes()), KindImages); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("want ErrWrongKind, got %v", err)
	}
}

func TestReaderReportsTruncatedStream(t *testing.T) {
	data := imagesStream(t, 100, Options{BatchRows: 10})
	r, err := NewReader(bytes.NewReader(data[:len(data)-500]), KindImages)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
	}
	if r.Err() == nil || !strings.Contains(r.Err().Error(), "truncated") {
		t.Fatalf("want truncation error, got %v", r.Err())
	}
}

// foreignStream writes recs (released here) under schema with Arrow's own
// writer, as another tool would.
func foreignStream(t *testing.T, schema *arrow.Schema, recs ...arrow.Record) []byte {
	var b bytes.Buffer
	w := ipc.NewWriter(&b, ipc.WithSchema(schema))
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReaderAcceptsFileFormatAndForeignNames reads an IPC *file* whose list
// element field is named "element", as other Arrow implementations write.
func TestReaderAcceptsFileFormatAndForeignNames(t *testing.T) {
	md := arrow.NewMetadata([]string{MetaKind, MetaDim}, []string{KindFeatures, "2"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: ColIndex, Type: arrow.PrimitiveTypes.Int64},
		{Name: ColLabel, Type: arrow.PrimitiveTypes.Uint8},
		{Name: ColFeature, Type: arrow.FixedSizeListOfField(2, arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Float32})},
	}, &md)
	// Built by hand: arrow's builders rename the element field to "item".
	idx := array.NewInt64Data(prim(arrow.PrimitiveTypes.Int64, 2, arrow.Int64Traits.CastToBytes([]int64{7, 8})))
	lbl := array.NewUint8Data(prim(arrow.PrimitiveTypes.Uint8, 2, []byte{1, 2}))
	child := prim(arrow.PrimitiveTypes.Float32, 4, arrow.Float32Traits.CastToBytes([]float32{1, 2, 3, 4}))
	feat := array.MakeFromData(array.NewData(schema.Field(2).Type, 2, []*memory.Buffer{nil}, []arrow.ArrayData{child}, 0, 0))
	rec := array.NewRecord(schema, []arrow.Array{idx, lbl, feat}, 2)
	path := filepath.Join(t.TempDir(), "f.arrow")
	f, _ := os.Create(path)
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(rec)
	fw.Close()
	f.Close()
	raw, _ := os.ReadFile(path)
	for name, open := range map[string]func() *os.File{"seekable file": func() *os.File { f, _ := os.Open(path); return f }} {
		f := open()
		m, err := ReadMatrix(f)
		f.Close()
		if err != nil || m.Rows != 2 || m.Index[1] != 8 || m.Row(1)[1] != 4 {
			t.Fatalf("%s: %+v %v", name, m, err)
		}
	}
	m, err := ReadMatrix(bytes.NewReader(raw)) // a pipe: read into memory
	if err != nil || m.Rows != 2 || m.Row(0)[1] != 2 {
		t.Fatalf("in-memory file: %+v %v", m, err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(imagesStream(f, 3, Options{BatchRows: 2}))
	f.Add(imagesStream(f, 2, Options{Compress: "zstd"}))
	f.Add([]byte("ARROW1\x00\x00"))
	f.Add(ipcFile(f))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		defer r.Release()
		for r.Next() {
			switch r.Kind() {
			case KindImages:
				b := r.Images()
				if len(b.Pixels) != b.N*r.Dim() || len(b.Index) != b.N {
					t.Fatalf("images batch sizes %d %d %d", b.N, len(b.Pixels), len(b.Index))
				}
			case KindFeatures:
				b := r.Features()
				if len(b.Values) != b.N*r.Dim() {
					t.Fatal("features batch size")
				}
			}
		}
	})
}

// ipcFile returns a small images stream rewritten in the IPC file format.
func ipcFile(t testing.TB) []byte {
	r, err := NewReader(bytes.NewReader(imagesStream(t, 5, Options{BatchRows: 2, Compress: "zstd"})))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "*.arrow")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(r.Schema()), ipc.WithZstd())
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		if err := fw.Write(r.Record()); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReaderReadsZstdIPCFile(t *testing.T) {
	m, err := ReadMatrix(bytes.NewReader(ipcFile(t)))
	if err != nil || m.Rows != 5 || m.Row(4)[0] != float32(pixels(4, 12)[0])/255 {
		t.Fatalf("%+v %v", m, err)
	}
}
