package table

// The tables in testdata were written by other implementations (see
// interop/tables.mjs and testdata/README.md): Arrow IPC by apache-arrow
// (JavaScript), Parquet by arrow-rs (parquet-wasm). The few tables made
// here with Arrow Go test this package's own rules (class counts, integer
// types), not interoperability.

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/schema"

	flatbuffers "github.com/google/flatbuffers/go"
)

// What interop/tables.mjs wrote.
var (
	jsLabels   = []int{9, 0, 3, 255, 7, 0, 2}
	jsHFLabels = []int{9, 0, 3, 1, 7, 0, 2}
	fashion    = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	// The strings dog cat émeu cat ant dog bird, as classes (sorted by
	// bytes) and class indices.
	jsClasses   = []string{"ant", "bird", "cat", "dog", "émeu"}
	jsStrLabels = []int{3, 2, 4, 2, 0, 3, 1}
)

// jsPixel is pixel j of row i's 4x4 image in every table of tables.mjs.
func jsPixel(i, j int) uint8 { return uint8((37*i + 11*j + 5) % 256) }

// readAll reads every batch of r, checking that batches are consecutive
// and their slices agree, and returns the images, the labels and the
// batch sizes.
func readAll(t *testing.T, r *Reader) (imgs [][]byte, labels []int, sizes []int, err error) {
	t.Helper()
	for r.Next() {
		b := r.Batch()
		if b.Row != len(imgs) {
			t.Fatalf("batch starts at row %d, want %d", b.Row, len(imgs))
		}
		if r.Labelled() != (b.Labels != nil) || (b.Labels != nil && len(b.Labels) != b.Len()) {
			t.Fatalf("batch of %d images has %d labels (labelled %v)", b.Len(), len(b.Labels), r.Labelled())
		}
		imgs, labels, sizes = append(imgs, b.Encoded...), append(labels, b.Labels...), append(sizes, b.Len())
	}
	return imgs, labels, sizes, r.Err()
}

// checkPNGs decodes every image and compares its pixels with jsPixel.
func checkPNGs(t *testing.T, imgs [][]byte) {
	t.Helper()
	for i, b := range imgs {
		im, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		g, ok := im.(*image.Gray)
		if !ok || g.Rect != image.Rect(0, 0, 4, 4) {
			t.Fatalf("row %d: %T %v, want a 4x4 gray image", i, im, im.Bounds())
		}
		for j, v := range g.Pix {
			if v != jsPixel(i, j) {
				t.Fatalf("row %d pixel %d = %d, want %d", i, j, v, jsPixel(i, j))
			}
		}
	}
}

func TestOpenReadsTablesWrittenByOtherImplementations(t *testing.T) {
	for _, c := range []struct {
		file    string
		opt     Options
		rows    int // Rows() before reading
		classes []string
		labels  []int // nil: unlabelled
		sizes   []int
	}{
		{"binary.arrow", Options{}, 7, nil, jsLabels, []int{4, 3}},
		{"binary.arrows", Options{}, -1, nil, jsLabels, []int{4, 3}},
		{"binary.parquet", Options{}, 7, nil, jsLabels, []int{7}},
		{"rowgroups.parquet", Options{}, 7, nil, jsLabels, []int{2, 2, 2, 1}},
		{"snappy.parquet", Options{}, 7, nil, jsLabels, []int{7}},
		{"zstd.parquet", Options{}, 7, nil, jsLabels, []int{7}},
		{"gzip.parquet", Options{}, 7, nil, jsLabels, []int{7}},
		{"brotli.parquet", Options{}, 7, nil, jsLabels, []int{7}},
		{"hf.arrows", Options{}, -1, fashion, jsHFLabels, []int{7}},
		{"hf.parquet", Options{}, 7, fashion, jsHFLabels, []int{7}},
		{"hf-rs.parquet", Options{}, 7, fashion, jsHFLabels, []int{7}},
		{"strings.arrow", Options{}, 7, jsClasses, jsStrLabels, []int{3, 4}},
		{"strings.parquet", Options{}, 7, jsClasses, jsStrLabels, []int{7}},
		{"dict.arrows", Options{}, 7, jsClasses, jsStrLabels, []int{7}},
		{"nolabel.arrows", Options{ImageColumn: "img"}, -1, nil, nil, []int{7}},
		{"binary.parquet", Options{ImageColumn: "image", LabelColumn: "label"}, 7, nil, jsLabels, []int{7}},
		{"bad.parquet", Options{}, 3, nil, []int{1, 2, 3}, []int{3}},
		{"bad.arrows", Options{NoLabels: true, LabelColumn: "label_neg"}, -1, nil, nil, []int{3}},
		{"hf.parquet", Options{NoLabels: true}, 7, nil, nil, []int{7}},
	} {
		t.Run(fmt.Sprintf("%s %+v", c.file, c.opt), func(t *testing.T) {
			r, err := Open(filepath.Join("testdata", c.file), c.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Rows() != c.rows || r.Labelled() != (c.labels != nil) || !reflect.DeepEqual(r.Classes(), c.classes) {
				t.Errorf("rows %d labelled %v classes %q, want %d %v %q", r.Rows(), r.Labelled(), r.Classes(), c.rows, c.labels != nil, c.classes)
			}
			imgs, labels, sizes, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(labels, c.labels) || !reflect.DeepEqual(sizes, c.sizes) {
				t.Errorf("labels %v in batches %v, want %v in %v", labels, sizes, c.labels, c.sizes)
			}
			checkPNGs(t, imgs)
		})
	}
}

// pipe hides every method of a reader but Read, as a pipe would.
type pipe struct{ io.Reader }

func TestNewArrowReaderReadsPipedFilesAndStreams(t *testing.T) {
	for _, c := range []struct {
		file string
		rows int
	}{{"binary.arrow", 7}, {"binary.arrows", -1}, {"strings.arrow", 7}} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewArrowReader(pipe{bytes.NewReader(data)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			imgs, labels, _, err := readAll(t, r)
			if err != nil || len(imgs) != 7 || len(labels) != 7 || r.Rows() != c.rows {
				t.Fatalf("%d images, %d labels, rows %d, %v", len(imgs), len(labels), r.Rows(), err)
			}
			checkPNGs(t, imgs)
		})
	}
}

func TestNewArrowReaderReadsAStreamAfterOtherBytes(t *testing.T) {
	data, err := os.ReadFile("testdata/dict.arrows")
	if err != nil {
		t.Fatal(err)
	}
	in := bytes.NewReader(append([]byte("header"), data...))
	in.Seek(6, io.SeekStart)
	r, err := NewArrowReader(in, Options{}) // string labels: read twice, from offset 6
	if err != nil {
		t.Fatal(err)
	}
	imgs, labels, _, err := readAll(t, r)
	if err != nil || !reflect.DeepEqual(labels, jsStrLabels) {
		t.Fatalf("labels %v, %v", labels, err)
	}
	checkPNGs(t, imgs)
}

func TestNewArrowReaderRefusesStringLabelsOfAPipedStream(t *testing.T) {
	data, err := os.ReadFile("testdata/dict.arrows")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewArrowReader(pipe{bytes.NewReader(data)}, Options{})
	if !errors.Is(err, ErrColumnType) || !strings.Contains(err.Error(), "cannot be read twice") {
		t.Fatalf("error %v, want ErrColumnType saying it cannot be read twice", err)
	}
}

func TestNewParquetReaderReadsFromMemory(t *testing.T) {
	data, err := os.ReadFile("testdata/rowgroups.parquet")
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	imgs, labels, _, err := readAll(t, r)
	if err != nil || !reflect.DeepEqual(labels, jsLabels) {
		t.Fatalf("labels %v, %v", labels, err)
	}
	checkPNGs(t, imgs)
}

// errCase is a table read that must fail.
type errCase struct {
	name string
	file string
	opt  Options
	want error
	says []string // substrings of the message
}

// checkErr opens and reads c's table and checks the error (at Open or
// from Err).
func checkErr(t *testing.T, c errCase, open func() (*Reader, error)) {
	t.Helper()
	r, err := open()
	if err == nil {
		_, _, _, err = readAll(t, r)
		r.Close()
	}
	if !errors.Is(err, c.want) {
		t.Fatalf("error %v, want %v", err, c.want)
	}
	t.Log(err)
	for _, s := range c.says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestOpenRejectsBadTables(t *testing.T) {
	var cases []errCase
	for _, ext := range []struct{ bad, strings string }{{"bad.arrows", "strings.arrow"}, {"bad.parquet", "strings.parquet"}} {
		bad := ext.bad
		cases = append(cases, []errCase{
			{"explicit label column missing", bad, Options{LabelColumn: "class"}, ErrNoColumn,
				[]string{`"class"`, `"image", "label", "image_int"`}},
			{"explicit image column missing", bad, Options{ImageColumn: "picture"}, ErrNoColumn, []string{`"picture"`, `"image_path"`}},
			{"image column of integers", bad, Options{ImageColumn: "image_int"}, ErrColumnType,
				[]string{`"image_int" is int32`, "binary, large_binary, or a struct"}},
			{"image column of strings", ext.strings, Options{ImageColumn: "label"}, ErrColumnType,
				[]string{`image column "label" is`}},
			{"label column of floats", bad, Options{LabelColumn: "label_float"}, ErrColumnType,
				[]string{`"label_float" is`, "an integer, a string"}},
			{"label column of images", bad, Options{LabelColumn: "image_null"}, ErrColumnType, []string{"binary"}},
			{"null image", bad, Options{ImageColumn: "image_null"}, ErrNoImage, []string{`column "image_null" row 1 is null`}},
			{"image with only a path", bad, Options{ImageColumn: "image_path"}, ErrNoImage,
				[]string{`row 1 has no image bytes, only the path "train/1.png"`}},
			{"label 300", bad, Options{LabelColumn: "label_300"}, ErrLabel, []string{`column "label_300" row 1 is 300; labels must be 0..255`}},
			{"negative label", bad, Options{LabelColumn: "label_neg"}, ErrLabel, []string{"row 1 is -1", "missing label"}},
			{"null label", bad, Options{LabelColumn: "label_null"}, ErrLabel, []string{`column "label_null" row 1 is null`}},
		}...)
	}
	cases = append(cases,
		errCase{"default image column missing", "nolabel.arrows", Options{}, ErrNoColumn, []string{`no such column "image": the table has "img"`}},
		errCase{"explicit label column missing, default absent", "nolabel.arrows", Options{ImageColumn: "img", LabelColumn: "label"}, ErrNoColumn,
			[]string{`"label"`}},
	)
	for _, c := range cases {
		t.Run(c.file+" "+c.name, func(t *testing.T) {
			checkErr(t, c, func() (*Reader, error) { return Open(filepath.Join("testdata", c.file), c.opt) })
		})
	}
}

func TestOpenRejectsWhatIsNotATable(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		data []byte
		says string
	}{
		{"text", []byte("index,label\n0,cat\n1,dog\n"), "neither Parquet (PAR1) nor an Arrow IPC file (ARROW1) or stream"},
		{"empty", nil, "empty"},
		{"parquet magic only", []byte("PAR1PAR1"), "too few"},
		{"arrow magic only", []byte("ARROW1\x00\x00ARROW1"), "corrupt Arrow IPC file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkErr(t, errCase{want: ErrFormat, says: []string{c.says}}, func() (*Reader, error) {
				return Open(write(c.name, c.data), Options{})
			})
		})
	}
}

// TestOpenRejectsTruncatedFiles cuts every testdata table at several
// points: each must fail with ErrFormat, never panic or return rows
// silently short.
func TestOpenRejectsTruncatedFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".md") {
			continue
		}
		for _, n := range []int{len(data) - 1, len(data) - 8, len(data) * 3 / 4, len(data) / 2, 12, 5} {
			p := filepath.Join(dir, filepath.Base(f))
			if err := os.WriteFile(p, data[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			opt := Options{}
			if strings.HasPrefix(filepath.Base(f), "nolabel") {
				opt.ImageColumn = "img"
			}
			r, err := Open(p, opt)
			if err == nil {
				_, _, _, err = readAll(t, r)
				r.Close()
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("%s cut to %d of %d bytes: error %v, want ErrFormat", f, n, len(data), err)
			}
		}
	}
}

// ipcStream writes columns (name, array) as an Arrow IPC stream with
// Arrow Go, with schema metadata meta.
func ipcStream(t *testing.T, meta map[string]string, cols ...any) []byte {
	t.Helper()
	var fields []arrow.Field
	var arrs []arrow.Array
	for i := 0; i < len(cols); i += 2 {
		a := cols[i+1].(arrow.Array)
		fields, arrs = append(fields, arrow.Field{Name: cols[i].(string), Type: a.DataType(), Nullable: true}), append(arrs, a)
	}
	md := arrow.MetadataFrom(meta)
	schema := arrow.NewSchema(fields, &md)
	rec := array.NewRecord(schema, arrs, int64(arrs[0].Len()))
	var b bytes.Buffer
	w := ipc.NewWriter(&b, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func binaryArray(n int) arrow.Array {
	b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	for i := 0; i < n; i++ {
		b.Append([]byte{byte(i)})
	}
	return b.NewArray()
}

func TestLabelRules(t *testing.T) {
	mem := memory.DefaultAllocator
	strs := func(n int) arrow.Array {
		b := array.NewStringBuilder(mem)
		for i := 0; i < n; i++ {
			b.Append(fmt.Sprintf("class %03d", i))
		}
		return b.NewArray()
	}
	u64 := func(vs ...uint64) arrow.Array {
		b := array.NewUint64Builder(mem)
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	i8 := func(vs ...int8) arrow.Array {
		b := array.NewInt8Builder(mem)
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	hf := func(n int) map[string]string {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("%q", fmt.Sprint("c", i))
		}
		return map[string]string{"huggingface": `{"info": {"features": {"label": {"names": [` + strings.Join(names, ",") + `], "_type": "ClassLabel"}}}}`}
	}
	for _, c := range []struct {
		name    string
		stream  []byte
		want    error
		says    string
		labels  []int
		classes []string
	}{
		{"256 string classes", ipcStream(t, nil, "image", binaryArray(256), "label", strs(256)), nil, "", nil, nil},
		{"257 string classes", ipcStream(t, nil, "image", binaryArray(257), "label", strs(257)), ErrLabel, "more than 256 distinct labels (row 256", nil, nil},
		{"uint64 above int64", ipcStream(t, nil, "image", binaryArray(2), "label", u64(1, 1<<63+5)), ErrLabel, "row 1 is 9223372036854775813", nil, nil},
		{"uint64 255", ipcStream(t, nil, "image", binaryArray(2), "label", u64(255, 0)), nil, "", []int{255, 0}, nil},
		{"int8 negative", ipcStream(t, nil, "image", binaryArray(2), "label", i8(3, -7)), ErrLabel, "row 1 is -7", nil, nil},
		{"label beyond the Hugging Face names", ipcStream(t, hf(3), "image", binaryArray(2), "label", i8(2, 3)), ErrLabel,
			"row 1 is 3, but the Hugging Face metadata names only 3 classes", nil, nil},
		{"257 Hugging Face names", ipcStream(t, hf(257), "image", binaryArray(2), "label", i8(2, 3)), ErrLabel, "names 257 classes", nil, nil},
		{"Hugging Face names of another column", ipcStream(t, map[string]string{"huggingface": `{"info": {"features": {"other": {"names": ["a"], "_type": "ClassLabel"}}}}`},
			"image", binaryArray(2), "label", i8(2, 3)), nil, "", []int{2, 3}, nil},
		{"malformed Hugging Face metadata", ipcStream(t, map[string]string{"huggingface": `{"info": [`}, "image", binaryArray(2), "label", i8(2, 3)), nil, "", []int{2, 3}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewArrowReader(bytes.NewReader(c.stream), Options{})
			var labels []int
			if err == nil {
				_, labels, _, err = readAll(t, r)
			}
			if !errors.Is(err, c.want) || (err != nil && !strings.Contains(err.Error(), c.says)) {
				t.Fatalf("error %v, want %v saying %q", err, c.want, c.says)
			}
			if c.labels != nil && !reflect.DeepEqual(labels, c.labels) {
				t.Errorf("labels %v, want %v", labels, c.labels)
			}
			if err == nil && c.name == "256 string classes" && (len(r.Classes()) != 256 || r.Classes()[255] != "class 255") {
				t.Errorf("classes %q", r.Classes())
			}
		})
	}
}

// patchVarint overwrites the varint at pos of data with the largest value
// of the same length.
func patchVarint(data []byte, pos int) {
	for data[pos] >= 0x80 {
		data[pos] = 0xFF
		pos++
	}
	data[pos] = 0x7F
}

func TestParquetPageClaimingMoreThanItsChunkIsRefused(t *testing.T) {
	data, err := os.ReadFile("testdata/binary.parquet")
	if err != nil {
		t.Fatal(err)
	}
	// The first page header starts after the magic: fields 1 (type), 2
	// (uncompressed size), 3 (compressed size), each a header byte and a
	// zigzag varint.
	tr := thriftReader{b: data[4:]}
	for f := 1; f <= 3; f++ {
		if _, typ, err := tr.field(int16(f - 1)); err != nil || typ != tcI32 {
			t.Fatalf("field %d: %v %v", f, typ, err)
		}
		if f == 3 {
			patchVarint(data, 4+tr.pos)
		}
		if _, err := tr.varint(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = NewParquetReader(bytes.NewReader(data), int64(len(data)), Options{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "the column chunk has") {
		t.Fatalf("error %v, want ErrFormat about the page's size", err)
	}
}

// TestParquetCompressedDataDeclaringMoreThanItsPageIsRefused patches the
// length that the first page's compressed data declares (snappy's leading
// varint, the zstd frame's content size) to more than the page holds: the
// codec would allocate by it.
func TestParquetCompressedDataDeclaringMoreThanItsPageIsRefused(t *testing.T) {
	for _, c := range []struct {
		file  string
		patch func(data []byte)
		says  string
	}{
		{"snappy.parquet", func(data []byte) { patchVarint(data, 0) }, "snappy data declares"},
		{"zstd.parquet", func(data []byte) {
			if fcs, ok := zstdContentSize(data); !ok || fcs == 0 {
				t.Fatalf("no zstd frame content size (%d, %v)", fcs, ok)
			}
			fhd := data[4]
			p := 5 + []int{1, 0}[fhd>>5&1] + []int{0, 1, 2, 4}[fhd&3]
			for i := p; i < p+[]int{1, 2, 4, 8}[fhd>>6]; i++ {
				data[i] = 0xFF
			}
		}, "zstd frame declares"},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			h, err := parsePageHeader(data[4:], false)
			if err != nil {
				t.Fatal(err)
			}
			c.patch(data[4+h.size:])
			_, err = NewParquetReader(bytes.NewReader(data), int64(len(data)), Options{})
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %v, want ErrFormat saying %q", err, c.says)
			}
		})
	}
}

func TestParquetFooterListLongerThanTheFooterIsRefused(t *testing.T) {
	// FileMetaData: field 1 (version) = 1, field 2 (schema) a list of
	// structs claiming 2^31-1 elements.
	footer := []byte{0x15, 0x02, 0x19, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00}
	var data []byte
	data = append(data, "PAR1"...)
	data = append(data, footer...)
	data = append(data, byte(len(footer)), 0, 0, 0)
	data = append(data, "PAR1"...)
	_, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), Options{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "footer") {
		t.Fatalf("error %v, want ErrFormat about the footer", err)
	}
}

// slotMessageBodyLength is the flatbuffer slot (4 + 2*field index) of
// an Arrow IPC Message's bodyLength.
const slotMessageBodyLength = 10

// root returns the root table of a flatbuffer.
func root(buf []byte) flatbuffers.Table {
	return flatbuffers.Table{Bytes: buf, Pos: flatbuffers.GetUOffsetT(buf)}
}

func TestArrowBodyLongerThanTheStreamIsRefused(t *testing.T) {
	data, err := os.ReadFile("testdata/binary.arrows")
	if err != nil {
		t.Fatal(err)
	}
	// The second message is the first record batch: make its body length
	// (Message field 3, an int64) claim 1 TiB.
	first := 8 + int(int32(le32(data[4:])))
	meta := data[first+8 : first+8+int(int32(le32(data[first+4:])))]
	tab := root(meta)
	o := tab.Offset(slotMessageBodyLength)
	if o == 0 {
		t.Fatal("no body length")
	}
	p := int(tab.Pos) + int(o)
	copy(meta[p:], []byte{0, 0, 0, 0, 0, 1, 0, 0})
	r, err := NewArrowReader(bytes.NewReader(data), Options{})
	if err == nil {
		_, _, _, err = readAll(t, r)
	}
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("error %v, want ErrFormat", err)
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func ExampleOpen() {
	r, err := Open("testdata/hf.parquet", Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	fmt.Println(r.Rows(), "rows; classes", r.Classes()[:3])
	for r.Next() {
		b := r.Batch()
		fmt.Printf("rows %d..%d: labels %v, first image %d bytes %q\n", b.Row, b.Row+b.Len()-1, b.Labels, len(b.Encoded[0]), b.Encoded[0][1:4])
	}
	if err := r.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 7 rows; classes [T-shirt/top Trouser Pullover]
	// rows 0..6: labels [9 0 3 1 7 0 2], first image 85 bytes "PNG"
}

// goParquet writes, with Arrow Go's low-level Parquet writer, a table of
// required columns: image (binary) and label (an unsigned integer of the
// given bit width, physical INT32 or INT64), in row groups of rgRows.
func goParquet(t *testing.T, bits int8, labels []uint64, rgRows int) []byte {
	t.Helper()
	phys := parquet.Types.Int32
	if bits == 64 {
		phys = parquet.Types.Int64
	}
	img, err := schema.NewPrimitiveNode("image", parquet.Repetitions.Required, parquet.Types.ByteArray, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	lbl, err := schema.NewPrimitiveNodeLogical("label", parquet.Repetitions.Required, schema.NewIntLogicalType(bits, false), phys, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{img, lbl}, -1)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := file.NewParquetWriter(&b, root)
	for lo := 0; lo < len(labels); lo += rgRows {
		hi := min(lo+rgRows, len(labels))
		rg := w.AppendRowGroup()
		cw, err := rg.NextColumn()
		if err != nil {
			t.Fatal(err)
		}
		var imgs []parquet.ByteArray
		for i := lo; i < hi; i++ {
			imgs = append(imgs, parquet.ByteArray{byte(i), 1, 2})
		}
		if _, err := cw.(*file.ByteArrayColumnChunkWriter).WriteBatch(imgs, nil, nil); err != nil {
			t.Fatal(err)
		}
		if cw, err = rg.NextColumn(); err != nil {
			t.Fatal(err)
		}
		if bits == 64 {
			var vs []int64
			for _, l := range labels[lo:hi] {
				vs = append(vs, int64(l))
			}
			_, err = cw.(*file.Int64ColumnChunkWriter).WriteBatch(vs, nil, nil)
		} else {
			var vs []int32
			for _, l := range labels[lo:hi] {
				vs = append(vs, int32(uint32(l)))
			}
			_, err = cw.(*file.Int32ColumnChunkWriter).WriteBatch(vs, nil, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := rg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParquetRequiredColumnsAndUnsignedLabels covers what arrow-rs did not
// write in testdata: columns without definition levels, unsigned labels
// (uint32 above int32, uint64 above int64), several row groups.
func TestParquetRequiredColumnsAndUnsignedLabels(t *testing.T) {
	for _, c := range []struct {
		name   string
		bits   int8
		labels []uint64
		want   error
		says   string
	}{
		{"uint8", 8, []uint64{0, 255, 7, 3, 200}, nil, ""},
		{"uint32 above int32", 32, []uint64{1, 1 << 31}, ErrLabel, "row 1 is 2147483648"},
		{"uint64 above int64", 64, []uint64{1, 2, 1<<63 + 1}, ErrLabel, "row 2 is 9223372036854775809"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := goParquet(t, c.bits, c.labels, 2)
			r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			imgs, labels, sizes, err := readAll(t, r)
			if !errors.Is(err, c.want) || (err != nil && !strings.Contains(err.Error(), c.says)) {
				t.Fatalf("error %v, want %v saying %q", err, c.want, c.says)
			}
			if c.want != nil {
				return
			}
			for i, l := range labels {
				if uint64(l) != c.labels[i] || !bytes.Equal(imgs[i], []byte{byte(i), 1, 2}) {
					t.Fatalf("row %d: label %d image %v", i, l, imgs[i])
				}
			}
			if !reflect.DeepEqual(sizes, []int{2, 2, 1}) || r.Rows() != len(c.labels) {
				t.Errorf("batches %v, rows %d", sizes, r.Rows())
			}
		})
	}
}
