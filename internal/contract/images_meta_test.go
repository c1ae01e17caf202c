package contract

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestRGBImagesRoundTripWithClasses(t *testing.T) {
	classes := []string{"cat", "dog", "ünïcode \"quoted\""}
	meta := Meta{MetaSplit: "train"}.SetChannels(3).SetClasses(classes)
	var b bytes.Buffer
	w, err := NewImagesWriter(&b, 2, 5, meta, Options{BatchRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := w.Append(int64(i), uint8(i%3), pixels(i, 30)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Append(5, 0, pixels(5, 10)); err == nil {
		t.Fatal("a 1-channel image was accepted by a 3-channel writer")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	im, err := ReadImages(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if im.Channels != 3 || im.Height != 2 || im.Width != 5 || im.N != 5 || !im.Labelled {
		t.Fatalf("read %d images %dx%dx%d labelled %v", im.N, im.Channels, im.Height, im.Width, im.Labelled)
	}
	for i := 0; i < 5; i++ {
		if !bytes.Equal(im.Pixels[i*30:(i+1)*30], pixels(i, 30)) || im.Label[i] != uint8(i%3) {
			t.Fatalf("row %d differs", i)
		}
	}
	got, err := im.Meta.Classes()
	if err != nil || strings.Join(got, "|") != strings.Join(classes, "|") {
		t.Fatalf("classes %q, %v; want %q", got, err, classes)
	}
}

func TestGreyStreamsKeepTheirBytes(t *testing.T) {
	// Channels 1 is recorded by leaving the key out: the bytes of a grey
	// stream are those written before channels existed.
	a := imagesStream(t, 4, Options{})
	var b bytes.Buffer
	w, err := NewImagesWriter(&b, 3, 4, Meta{MetaSplit: "test", MetaSource: "unit"}.SetChannels(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if err := w.Append(int64(i), uint8(i%10), pixels(i, 12)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b.Bytes()) {
		t.Fatal("SetChannels(1) changed the bytes of a grey stream")
	}
}

func TestUnlabelledStreamsHaveNullLabels(t *testing.T) {
	var b bytes.Buffer
	w, err := NewImagesWriter(&b, 3, 4, Meta{MetaSplit: "train"}, Options{Unlabelled: true, BatchRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		if err := w.Append(int64(i), 9, pixels(i, 12)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(b.Bytes()), KindImages)
	if err != nil {
		t.Fatal(err)
	}
	if f := r.Schema().Field(labelCol); !f.Nullable {
		t.Fatal("an unlabelled stream's label field is not nullable")
	}
	rows := 0
	for r.Next() {
		if c := r.Record().Column(labelCol); c.NullN() != c.Len() {
			t.Fatalf("%d of %d labels null", c.NullN(), c.Len())
		}
		rows += r.Images().N
		if r.Labelled() {
			t.Fatal("Labelled() is true for null labels")
		}
	}
	if err := r.Err(); err != nil || rows != 7 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	m, err := ReadMatrix(bytes.NewReader(b.Bytes()))
	if err != nil || m.Labelled {
		t.Fatalf("ReadMatrix: labelled %v, %v", m != nil && m.Labelled, err)
	}
}

// labelStream writes a foreign images stream whose batches have the given
// label validity (true = present).
func labelStream(t *testing.T, batches ...[]bool) []byte {
	t.Helper()
	schema := ImagesSchema(1, 1, Meta{})
	fields := schema.Fields()
	fields[labelCol].Nullable = true
	md := schema.Metadata()
	schema = arrow.NewSchema(fields, &md)
	var recs []arrow.Record
	for _, valid := range batches {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i, v := range valid {
			bld.Field(0).(*array.Int64Builder).Append(int64(i))
			if v {
				bld.Field(1).(*array.Uint8Builder).Append(1)
			} else {
				bld.Field(1).(*array.Uint8Builder).AppendNull()
			}
			lb := bld.Field(2).(*array.FixedSizeListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Uint8Builder).Append(7)
		}
		recs = append(recs, bld.NewRecord())
		bld.Release()
	}
	return foreignStream(t, schema, recs...)
}

func TestReaderRefusesMixedLabels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches [][]bool
		want    string // "" means it reads
	}{
		{"all present", [][]bool{{true, true}, {true}}, ""},
		{"all null", [][]bool{{false, false}, {false}}, ""},
		{"partly null", [][]bool{{true, false}}, "1 nulls in a batch of 2"},
		{"null in one batch only", [][]bool{{true}, {false}}, "null in some batches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(labelStream(t, tc.batches...)), KindImages)
			if err != nil {
				t.Fatal(err)
			}
			for r.Next() {
			}
			switch err := r.Err(); {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBadChannelsAndClassesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		meta Meta
		want string
	}{
		{"two channels", Meta{MetaChannels: "2"}, "not 1 or 3"},
		{"channels not a number", Meta{MetaChannels: "rgb"}, "not 1 or 3"},
		{"classes not JSON", Meta{MetaClasses: "cat,dog"}, "not a JSON list"},
		{"classes empty", Meta{MetaClasses: "[]"}, "names 0 classes"},
		{"too many classes", Meta{MetaClasses: "[" + strings.Repeat(`"x",`, 256) + `"y"]`}, "names 257 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewImagesWriter(&bytes.Buffer{}, 2, 2, tc.meta, Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("writer: %v, want %q", err, tc.want)
			}
			m := tc.meta.Clone()
			m[MetaKind], m[MetaHeight], m[MetaWidth] = KindImages, "2", "2"
			schema := arrow.NewSchema(ImagesSchema(2, 2, Meta{}).Fields(), ptr(m.arrow()))
			if _, err := NewReader(bytes.NewReader(foreignStream(t, schema))); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("reader: %v, want %q", err, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
