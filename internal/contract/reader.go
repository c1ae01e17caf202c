package contract

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/siampipe/siampipe/internal/ipcguard"
)

// ErrWrongKind is returned (wrapped) by NewReader when the input is a valid
// siampipe stream of a kind the caller did not ask for.
var ErrWrongKind = errors.New("wrong kind of stream")

// ErrNotArrow is returned (wrapped) by NewReader when the input is not an
// Arrow IPC stream or file at all.
var ErrNotArrow = errors.New("not an Arrow IPC stream")

// fileMagic opens (and closes) the Arrow IPC file format.
var fileMagic = []byte("ARROW1")

// errDictionary says why a stream with dictionary batches is refused
// (ipcguard.ErrDictionary).
var errDictionary = errors.New("dictionary batches are not part of the siampipe contract (write plain columns)")

// explain phrases the errors of ipcguard that the contract's rules cause.
func explain(err error) error {
	if errors.Is(err, ipcguard.ErrDictionary) {
		return errDictionary
	}
	return err
}

// Reader reads one siampipe stream, checking its kind and columns. Iterate
// it as
//
//	for r.Next() { b := r.Images(); ... }
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	rr     *ipcguard.Reader
	schema *arrow.Schema
	kind   string
	meta   Meta
	width  int // list size of the data column(s); 0 for model
	height int
	imgW   int
	chans  int
	// labels is 0 until a batch has been read, then 1 for a labelled stream
	// (no null labels) and -1 for an unlabelled one (every label null).
	labels int8
	rec    arrow.Record
	err    error
}

// NewReader reads the schema of the stream (or IPC file) in r and checks that
// its kind is one of kinds (any kind if none are given) and that its columns
// are those of that kind. The error says what was found and what was
// expected, e.g. "input is a features stream, expected images (did you pipe
// fetch's output?)".
func NewReader(r io.Reader, kinds ...string) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(len(fileMagic))
	if len(head) == 0 && (err == io.EOF || err == nil) {
		return nil, fmt.Errorf("input is empty, expected %s", expectation(kinds))
	}
	var rr *ipcguard.Reader
	if bytes.Equal(head, fileMagic) {
		rr, err = openFile(r, br)
	} else {
		rr, err = ipcguard.NewStreamReader(br, ipcguard.Options{})
	}
	if err != nil {
		return nil, fmt.Errorf("input is %w (%v), expected %s", ErrNotArrow, shortErr(explain(err)), expectation(kinds))
	}
	schema := rr.Schema()
	rd := &Reader{rr: rr, schema: schema, meta: metaOf(schema.Metadata())}
	if err := rd.check(kinds); err != nil {
		rr.Release()
		return nil, err
	}
	return rd, nil
}

// openFile opens the IPC file format. A regular file is read in place;
// anything else (a pipe) is read into memory first, since the file format
// keeps its index at the end.
func openFile(r io.Reader, br *bufio.Reader) (*ipcguard.Reader, error) {
	var ras interface {
		io.ReaderAt
		io.Seeker
	}
	if f, ok := r.(*os.File); ok && br.Buffered() > 0 {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if _, err := f.Seek(0, io.SeekStart); err == nil {
				ras = f
			}
		}
	}
	if ras == nil {
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		ras = bytes.NewReader(data)
	}
	size, err := ras.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	return ipcguard.NewFileReader(ras, size, ipcguard.Options{})
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// expectation phrases what the caller wanted: "images (did you pipe fetch's output?)".
func expectation(kinds []string) string {
	if len(kinds) == 0 {
		return "a siampipe stream"
	}
	hints := make([]string, len(kinds))
	for i, k := range kinds {
		hints[i] = producer[k]
	}
	if len(kinds) == 1 {
		return fmt.Sprintf("%s (did you pipe %s's output?)", kinds[0], hints[0])
	}
	return fmt.Sprintf("%s (did you pipe the output of %s?)", strings.Join(kinds, " or "), strings.Join(hints, " or "))
}

func (r *Reader) check(kinds []string) error {
	kind, ok := r.meta[MetaKind]
	if !ok {
		return fmt.Errorf("input is an Arrow stream without %s metadata, expected %s", MetaKind, expectation(kinds))
	}
	if _, known := producer[kind]; !known {
		return fmt.Errorf("input is a stream of unknown kind %q, expected %s", kind, expectation(kinds))
	}
	if len(kinds) > 0 {
		found := false
		for _, k := range kinds {
			found = found || k == kind
		}
		if !found {
			return fmt.Errorf("input is %s %s stream, expected %s: %w", article(kind), kind, expectation(kinds), ErrWrongKind)
		}
	}
	r.kind = kind
	var err error
	switch kind {
	case KindImages, KindPairs:
		if r.height, err = r.meta.Int(MetaHeight); err == nil {
			r.imgW, err = r.meta.Int(MetaWidth)
		}
		if err == nil && (r.height <= 0 || r.imgW <= 0) {
			err = fmt.Errorf("image size %dx%d is not positive", r.height, r.imgW)
		}
		if err == nil {
			r.chans, err = r.meta.Channels()
		}
		if err == nil && int64(r.chans)*int64(r.height)*int64(r.imgW) > math.MaxInt32 {
			err = fmt.Errorf("image size %dx%dx%d is too large", r.chans, r.height, r.imgW)
		}
		r.width = r.chans * r.height * r.imgW
	case KindFeatures, KindCoords:
		r.width, err = r.meta.Int(MetaDim)
		if err == nil && r.width <= 0 {
			err = fmt.Errorf("dimension %d is not positive", r.width)
		}
	}
	if err == nil && kind != KindModel {
		_, err = r.meta.Classes()
	}
	if err != nil {
		return fmt.Errorf("input %s stream is malformed: %v", kind, err)
	}
	want := columns(kind, r.width)
	fields := r.schema.Fields()
	if len(fields) != len(want) {
		return fmt.Errorf("input %s stream has %d columns, expected %d (%s)", kind, len(fields), len(want), colNames(want))
	}
	for i, c := range want {
		f := fields[i]
		if f.Name != c.name || !sameType(f.Type, c.typ) {
			return fmt.Errorf("input %s stream: column %d is %s %s, expected %s %s", kind, i, f.Name, f.Type, c.name, c.typ)
		}
	}
	return nil
}

func article(kind string) string {
	if strings.IndexByte("aeiou", kind[0]) >= 0 {
		return "an"
	}
	return "a"
}

func colNames(cs []colSpec) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.name
	}
	return strings.Join(s, ", ")
}

// sameType compares types ignoring the names of list element fields, which
// other Arrow implementations spell differently ("item", "element", ...).
func sameType(a, b arrow.DataType) bool {
	switch at := a.(type) {
	case *arrow.FixedSizeListType:
		bt, ok := b.(*arrow.FixedSizeListType)
		return ok && at.Len() == bt.Len() && arrow.TypeEqual(at.Elem(), bt.Elem())
	case *arrow.ListType:
		bt, ok := b.(*arrow.ListType)
		return ok && arrow.TypeEqual(at.Elem(), bt.Elem())
	}
	return arrow.TypeEqual(a, b)
}

// Kind returns the stream's kind.
func (r *Reader) Kind() string { return r.kind }

// Meta returns the stream's schema metadata. Do not modify it.
func (r *Reader) Meta() Meta { return r.meta }

// Schema returns the stream's Arrow schema.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Channels returns the image channels of an images or pairs stream (1 or
// 3; else 0).
func (r *Reader) Channels() int { return r.chans }

// Classes returns the class names the stream's metadata records, or nil.
func (r *Reader) Classes() []string {
	c, _ := r.meta.Classes() // checked by NewReader
	return c
}

// Labelled reports whether the stream's rows carry labels. A stream is
// labelled (no null in its label column) or unlabelled (every label null);
// this is known once Next has returned a batch, and true before.
func (r *Reader) Labelled() bool { return r.labels >= 0 }

// Height returns the image height of an images or pairs stream (else 0).
func (r *Reader) Height() int { return r.height }

// Width returns the image width of an images or pairs stream (else 0).
func (r *Reader) Width() int { return r.imgW }

// Dim returns the width of one row's data: C*H*W pixels for images and pairs,
// the feature or coordinate dimension for features and coords.
func (r *Reader) Dim() int { return r.width }

// Next advances to the next record batch. It returns false at the end of
// the stream or on an error; Err tells which.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	defer func() {
		if p := recover(); p != nil {
			r.err, r.rec = fmt.Errorf("%s stream is corrupt: %v", r.kind, p), nil
		}
	}()
	for r.rr.Next() {
		rec := r.rr.Record()
		if err := checkRecord(rec); err != nil {
			r.err = fmt.Errorf("%s stream: %w", r.kind, err)
			return false
		}
		if rec.NumRows() == 0 {
			continue
		}
		if err := r.checkLabels(rec); err != nil {
			r.err = fmt.Errorf("%s stream: %w", r.kind, err)
			return false
		}
		r.rec = rec
		return true
	}
	r.rec = nil
	if err := r.rr.Err(); err != nil && err != io.EOF {
		r.err = fmt.Errorf("%s stream is truncated or corrupt: %v", r.kind, shortErr(explain(err)))
	}
	return false
}

// labelCol is the position of the label column in every kind but model.
const labelCol = 1

// checkRecord refuses nulls outside the label column.
func checkRecord(rec arrow.Record) error {
	for i, col := range rec.Columns() {
		if i == labelCol && rec.ColumnName(i) == ColLabel {
			continue // checkLabels
		}
		if col.NullN() != 0 {
			return fmt.Errorf("column %s has %d nulls; siampipe streams have none", rec.ColumnName(i), col.NullN())
		}
	}
	return nil
}

// checkLabels sees whether rec's labels are all present or all null, and
// the same as in the batches before.
func (r *Reader) checkLabels(rec arrow.Record) error {
	if r.kind == KindModel {
		return nil
	}
	var state int8
	switch nulls, n := rec.Column(labelCol).NullN(), int(rec.NumRows()); nulls {
	case 0:
		state = 1
	case n:
		state = -1
	default:
		return fmt.Errorf("label column has %d nulls in a batch of %d rows; a stream is labelled (no null labels) or unlabelled (every label null)", nulls, n)
	}
	if r.labels != 0 && r.labels != state {
		return fmt.Errorf("label column is null in some batches and not in others; a stream is labelled (no null labels) or unlabelled (every label null)")
	}
	r.labels = state
	return nil
}

// Err returns the first error met by Next, if any.
func (r *Reader) Err() error { return r.err }

// Record returns the current record batch (valid until the next Next).
func (r *Reader) Record() arrow.Record { return r.rec }

// Release frees the reader's resources.
func (r *Reader) Release() { r.rr.Release() }

// ImagesBatch is one record batch of an images stream. Pixels holds N images
// of C*H*W bytes each (channel planes, each row-major), back to back. Label
// is meaningless (its values undefined) when the stream is unlabelled: see
// Reader.Labelled.
type ImagesBatch struct {
	N      int
	Index  []int64
	Label  []uint8
	Pixels []uint8
}

// PairsBatch is one record batch of a pairs stream.
type PairsBatch struct {
	N            int
	Index        []int64
	Label        []uint8
	Epoch        []int32
	View1, View2 []uint8
}

// FeaturesBatch is one record batch of a features stream: N rows of Dim
// values each in Values.
type FeaturesBatch struct {
	N      int
	Index  []int64
	Label  []uint8
	Values []float32
}

// CoordsBatch is one record batch of a coords stream; see FeaturesBatch.
type CoordsBatch = FeaturesBatch

func (r *Reader) mustKind(k string) {
	if r.kind != k {
		panic(fmt.Sprintf("contract: %s batch asked of a %s stream", k, r.kind))
	}
}

// Images returns the current batch of an images stream. It panics on a
// stream of another kind.
func (r *Reader) Images() ImagesBatch {
	r.mustKind(KindImages)
	c := r.rec.Columns()
	return ImagesBatch{N: int(r.rec.NumRows()), Index: i64s(c[0]), Label: u8s(c[1]), Pixels: u8List2(c[2], r.width)}
}

// Pairs returns the current batch of a pairs stream. It panics on a stream
// of another kind.
func (r *Reader) Pairs() PairsBatch {
	r.mustKind(KindPairs)
	c := r.rec.Columns()
	return PairsBatch{N: int(r.rec.NumRows()), Index: i64s(c[0]), Label: u8s(c[1]), Epoch: c[2].(*array.Int32).Int32Values(),
		View1: u8List2(c[3], r.width), View2: u8List2(c[4], r.width)}
}

// Features returns the current batch of a features stream. It panics on a
// stream of another kind.
func (r *Reader) Features() FeaturesBatch {
	r.mustKind(KindFeatures)
	return r.floatBatch()
}

// Coords returns the current batch of a coords stream. It panics on a
// stream of another kind.
func (r *Reader) Coords() CoordsBatch {
	r.mustKind(KindCoords)
	return r.floatBatch()
}

func (r *Reader) floatBatch() FeaturesBatch {
	c := r.rec.Columns()
	l := c[2].(*array.FixedSizeList)
	vals := l.ListValues().(*array.Float32).Float32Values()
	off := l.Offset() * r.width
	return FeaturesBatch{N: int(r.rec.NumRows()), Index: i64s(c[0]), Label: u8s(c[1]), Values: vals[off : off+l.Len()*r.width]}
}

func i64s(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() }
func u8s(a arrow.Array) []uint8  { return a.(*array.Uint8).Uint8Values() }

func u8List2(a arrow.Array, width int) []uint8 {
	l := a.(*array.FixedSizeList)
	vals := l.ListValues().(*array.Uint8).Uint8Values()
	off := l.Offset() * width
	return vals[off : off+l.Len()*width]
}

// AllImages is a whole images stream in memory.
type AllImages struct {
	ImagesBatch
	Channels, Height, Width int
	Labelled                bool // see Reader.Labelled
	Meta                    Meta
}

// ReadImages reads a whole images stream (or file) into memory.
func ReadImages(in io.Reader) (*AllImages, error) {
	r, err := NewReader(in, KindImages)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	im := &AllImages{Channels: r.Channels(), Height: r.Height(), Width: r.Width(), Meta: r.Meta().Clone()}
	for r.Next() {
		b := r.Images()
		im.N += b.N
		im.Index = appendAll(im.Index, b.Index)
		im.Label = appendAll(im.Label, b.Label)
		im.Pixels = appendAll(im.Pixels, b.Pixels)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	im.Labelled = r.Labelled()
	return im, nil
}
