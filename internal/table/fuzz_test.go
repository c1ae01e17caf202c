package table

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzOptions are the column choices a fuzz input picks from (by its
// first byte): the testdata tables' columns, good and bad.
var fuzzOptions = []Options{
	{},
	{ImageColumn: "img"},
	{ImageColumn: "image_path", LabelColumn: "label_neg"},
	{ImageColumn: "image_null", LabelColumn: "label_null"},
	{LabelColumn: "label_300"},
}

// addSeeds adds the testdata files matching pattern, with every option.
func addSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for i := range fuzzOptions {
			f.Add(uint8(i), data)
		}
	}
}

// fuzzMaxRows bounds the rows a fuzz input is read for: a few bytes of
// Parquet can hold a billion rows (one RLE run of dictionary indices),
// which is a big table, not a bug, and would stall the fuzzer.
const fuzzMaxRows = 1 << 14

// fuzzRead reads a table (up to fuzzMaxRows) and checks what Reader
// promises of it.
func fuzzRead(t *testing.T, r *Reader, err error) {
	if err != nil {
		return
	}
	defer r.Close()
	rows := 0
	for rows < fuzzMaxRows && r.Next() {
		b := r.Batch()
		if b.Row != rows || b.Len() == 0 || (r.Labelled() != (b.Labels != nil)) || (b.Labels != nil && len(b.Labels) != b.Len()) {
			t.Fatalf("batch at row %d (want %d) of %d images, %d labels", b.Row, rows, b.Len(), len(b.Labels))
		}
		for _, l := range b.Labels {
			if l < 0 || l >= MaxClasses || (r.Classes() != nil && l >= len(r.Classes())) {
				t.Fatalf("label %d of %d classes", l, len(r.Classes()))
			}
		}
		rows += b.Len()
	}
	if rows < fuzzMaxRows && r.Err() == nil && r.Rows() >= 0 && rows != r.Rows() {
		t.Fatalf("read %d rows, Rows() said %d", rows, r.Rows())
	}
}

func FuzzArrow(f *testing.F) {
	addSeeds(f, "*.arrow*")
	f.Fuzz(func(t *testing.T, opt uint8, data []byte) {
		o := fuzzOptions[int(opt)%len(fuzzOptions)]
		r, err := NewArrowReader(bytes.NewReader(data), o)
		fuzzRead(t, r, err)
		r, err = NewArrowReader(pipe{bytes.NewReader(data)}, o)
		fuzzRead(t, r, err)
	})
}

func FuzzParquet(f *testing.F) {
	addSeeds(f, "*.parquet")
	f.Fuzz(func(t *testing.T, opt uint8, data []byte) {
		r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), fuzzOptions[int(opt)%len(fuzzOptions)])
		fuzzRead(t, r, err)
	})
}
