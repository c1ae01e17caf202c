// Package table reads image tables written by other tools (pyarrow, Hugging
// Face datasets, arrow-rs, apache-arrow JS) from Arrow IPC files and
// streams and from Parquet files: one column of encoded images (PNG, JPEG,
// ... bytes, returned as stored; decoding is another package's job) and an
// optional column of class labels.
//
// Iterate a Reader like bufio.Scanner:
//
//	r, err := table.Open(path, table.Options{})
//	if err != nil { ... }
//	defer r.Close()
//	for r.Next() {
//		b := r.Batch() // b.Encoded[i], b.Labels[i]
//	}
//	if err := r.Err(); err != nil { ... }
//
// Rows count from 0, as in pyarrow and datasets. Errors wrap ErrFormat,
// ErrNoColumn, ErrColumnType, ErrNoImage or ErrLabel.
//
// Input from outside is not trusted: a panic of the Arrow or Parquet
// library on corrupt bytes becomes an error wrapping ErrFormat, and lengths
// declared inside a file are checked against the file before anything is
// allocated by them (see internal/ipcguard and guard_parquet.go).
package table

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Errors returned (wrapped) by the readers; test with errors.Is.
var (
	// ErrFormat: the input is not an Arrow IPC stream or file nor a
	// Parquet file, or it is truncated or corrupt.
	ErrFormat = errors.New("not a readable Arrow IPC or Parquet table")
	// ErrNoColumn: the image column, or a label column named in Options,
	// is not in the table. The message lists the columns that are.
	ErrNoColumn = errors.New("no such column")
	// ErrColumnType: the image or label column has a type this package
	// does not read. The message says which types it reads.
	ErrColumnType = errors.New("unsupported column type")
	// ErrNoImage: a row's image is null (or, in a Hugging Face Image
	// struct, its bytes are null).
	ErrNoImage = errors.New("missing image")
	// ErrLabel: a label is null, outside 0..255 or beyond the named
	// classes, or the table has more than MaxClasses classes.
	ErrLabel = errors.New("bad label")
)

// Default column names: those of Hugging Face image datasets.
const (
	DefaultImageColumn = "image"
	DefaultLabelColumn = "label"
)

// MaxClasses is the most classes a table may have: labels are bytes.
const MaxClasses = 256

// Options name the columns to read. The zero value reads the columns
// "image" and, when the table has one, "label".
type Options struct {
	// ImageColumn is the column of encoded images; "" means "image".
	ImageColumn string
	// LabelColumn is the column of class labels. "" means "label" if the
	// table has such a column, else no labels; a name given here must
	// exist.
	LabelColumn string
	// NoLabels reads no labels, whatever columns the table has (for a
	// test split whose labels are all -1, say).
	NoLabels bool
}

// Batch is a run of consecutive rows. Its slices are the caller's: the
// reader does not reuse them.
type Batch struct {
	// Row is the index of the batch's first row in the table.
	Row int
	// Encoded holds each row's image bytes as stored in the table.
	Encoded [][]byte
	// Labels holds each row's class index (0..255), or is nil when the
	// table is unlabelled.
	Labels []int
}

// Len returns the number of rows in the batch.
func (b Batch) Len() int { return len(b.Encoded) }

// Reader reads the image and label columns of one table, a batch of rows
// at a time.
type Reader struct {
	src     source
	labels  *labeler
	closer  io.Closer
	batch   Batch
	err     error
	row     int
	stopped bool
}

// source is one format's batch iterator. next returns io.EOF at the end.
type source interface {
	next(row int) (Batch, error)
	rows() int
}

// Open opens the table in the file at path, telling the format by its
// first bytes: "PAR1" is Parquet, "ARROW1" an Arrow IPC file, anything
// else is read as an Arrow IPC stream.
func Open(path string, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode().IsRegular() {
		return OpenFile(f, opt)
	}
	r, err := NewArrowReader(f, opt) // a pipe: no Parquet, which reads at offsets
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// File is what OpenFile reads a table from: a regular file, or anything
// else that reads at offsets and seeks (an object of a store).
type File interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

// OpenFile reads the table in f, from its start, telling the format as
// Open does; the Reader's Close closes f, and so does a failure.
func OpenFile(f File, opt Options) (*Reader, error) {
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	var head [6]byte
	n, _ := f.ReadAt(head[:], 0)
	var r *Reader
	switch {
	case n >= 4 && string(head[:4]) == parquetMagic:
		r, err = NewParquetReader(f, size, opt)
	default:
		r, err = NewArrowReader(f, opt)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// Rows returns the number of rows in the table, or -1 when it is not
// known before reading (an Arrow IPC stream, unless its labels are strings
// and so were read first).
func (r *Reader) Rows() int { return r.src.rows() }

// Labelled reports whether labels are read: the table has the label
// column, and Options.NoLabels is not set.
func (r *Reader) Labelled() bool { return r.labels != nil }

// Classes returns the class names: the distinct strings of a string label
// column, sorted by bytes (label i is Classes()[i]), or those of the Hugging Face
// ClassLabel feature of an integer label column. It returns nil when the
// table names no classes. Do not modify the result.
func (r *Reader) Classes() []string {
	if r.labels == nil {
		return nil
	}
	return r.labels.classes
}

// Next reads the next batch of rows, which Batch then returns. It returns
// false at the end of the table or on an error; Err tells which.
func (r *Reader) Next() bool {
	if r.stopped {
		return false
	}
	for {
		b, err := r.src.next(r.row)
		if err != nil {
			r.stopped, r.batch = true, Batch{}
			if err != io.EOF {
				r.err = err
			}
			return false
		}
		if b.Len() == 0 {
			continue
		}
		r.row += b.Len()
		r.batch = b
		return true
	}
}

// Batch returns the batch read by the last call to Next.
func (r *Reader) Batch() Batch { return r.batch }

// Err returns the first error met by Next, if any.
func (r *Reader) Err() error { return r.err }

// Close releases the reader, and closes the file if Open opened it.
func (r *Reader) Close() error {
	r.stopped = true
	if c, ok := r.src.(io.Closer); ok {
		c.Close()
	}
	if r.closer != nil {
		err := r.closer.Close()
		r.closer = nil
		return err
	}
	return nil
}

// noColumn is the error for a column the table lacks.
func noColumn(name string, have []string) error {
	list := make([]string, len(have))
	for i, h := range have {
		list[i] = fmt.Sprintf("%q", h)
	}
	if len(list) == 0 {
		return fmt.Errorf("%w %q: the table has no columns", ErrNoColumn, name)
	}
	return fmt.Errorf("%w %q: the table has %s", ErrNoColumn, name, strings.Join(list, ", "))
}

// resolve returns the image and label column names for a table with the
// given columns; label is "" when the table is unlabelled.
func (o Options) resolve(have []string) (image, label string, err error) {
	has := func(n string) bool {
		for _, h := range have {
			if h == n {
				return true
			}
		}
		return false
	}
	image = o.ImageColumn
	if image == "" {
		image = DefaultImageColumn
	}
	if !has(image) {
		return "", "", noColumn(image, have)
	}
	label = o.LabelColumn
	switch {
	case o.NoLabels:
		label = ""
	case label == "" && has(DefaultLabelColumn):
		label = DefaultLabelColumn
	case label == "":
	case !has(label):
		return "", "", noColumn(label, have)
	}
	return image, label, nil
}

const acceptedImage = "binary, large_binary, or a struct with a binary field \"bytes\" (a Hugging Face Image)"
const acceptedLabel = "an integer, a string, or a dictionary of strings"

func imageTypeError(col, typ string) error {
	return fmt.Errorf("%w: image column %q is %s; it must be %s", ErrColumnType, col, typ, acceptedImage)
}

func labelTypeError(col, typ string) error {
	return fmt.Errorf("%w: label column %q is %s; it must be %s", ErrColumnType, col, typ, acceptedLabel)
}

// labeler turns a label column's values into class indices.
type labeler struct {
	col     string
	strings bool           // a string column: classes come from a first pass
	classes []string       // names, or nil
	index   map[string]int // class of each string (string columns)
}

// newIntLabeler returns the labeler of an integer column; names are the
// Hugging Face class names, if any.
func newIntLabeler(col string, names []string) (*labeler, error) {
	if len(names) > MaxClasses {
		return nil, fmt.Errorf("%w: the Hugging Face metadata of column %q names %d classes, more than %d", ErrLabel, col, len(names), MaxClasses)
	}
	return &labeler{col: col, classes: names}, nil
}

// int checks one integer label (given as int64, or as a uint64 above the
// int64 range with big set) of row.
func (l *labeler) int(row int, v int64, big bool) (int, error) {
	switch {
	case big:
		return 0, fmt.Errorf("%w: column %q row %d is %d; labels must be 0..%d", ErrLabel, l.col, row, uint64(v), MaxClasses-1)
	case v == -1:
		return 0, fmt.Errorf("%w: column %q row %d is -1; labels must be 0..%d (Hugging Face datasets write -1 for a missing label)", ErrLabel, l.col, row, MaxClasses-1)
	case v < 0 || v >= MaxClasses:
		return 0, fmt.Errorf("%w: column %q row %d is %d; labels must be 0..%d", ErrLabel, l.col, row, v, MaxClasses-1)
	case l.classes != nil && int(v) >= len(l.classes):
		return 0, fmt.Errorf("%w: column %q row %d is %d, but the Hugging Face metadata names only %d classes", ErrLabel, l.col, row, v, len(l.classes))
	}
	return int(v), nil
}

func (l *labeler) null(row int) error {
	return fmt.Errorf("%w: column %q row %d is null", ErrLabel, l.col, row)
}

// str returns the class of a string label.
func (l *labeler) str(row int, s string) (int, error) {
	c, ok := l.index[s]
	if !ok { // the first pass saw every value; the input changed under us
		return 0, fmt.Errorf("%w: column %q row %d is %q, which the first pass did not see", ErrLabel, l.col, row, s)
	}
	return c, nil
}

// classSet collects the distinct strings of a string label column.
type classSet map[string]struct{}

func (s classSet) add(l *labeler, row int, v string) error {
	if _, ok := s[v]; ok {
		return nil
	}
	if len(s) == MaxClasses {
		return fmt.Errorf("%w: column %q has more than %d distinct labels (row %d is the %dth: %q)", ErrLabel, l.col, MaxClasses, row, MaxClasses+1, v)
	}
	s[v] = struct{}{}
	return nil
}

// finish makes the sorted classes of the strings seen.
func (s classSet) finish(l *labeler) {
	l.classes = make([]string, 0, len(s))
	for v := range s {
		l.classes = append(l.classes, v)
	}
	sort.Strings(l.classes)
	l.index = make(map[string]int, len(s))
	for i, v := range l.classes {
		l.index[v] = i
	}
}

// hfClassNames returns the names of the ClassLabel feature of column col
// in the "huggingface" schema metadata that datasets writes:
//
//	{"info": {"features": {"label": {"names": [...], "_type": "ClassLabel"}}}}
//
// It returns nil when the metadata is absent, malformed or names no
// classes for col: names are a convenience, not needed to read labels.
func hfClassNames(meta string, col string) []string {
	if meta == "" {
		return nil
	}
	var hf struct {
		Info struct {
			Features map[string]json.RawMessage `json:"features"`
		} `json:"info"`
	}
	if json.Unmarshal([]byte(meta), &hf) != nil {
		return nil
	}
	var feat struct {
		Type  string   `json:"_type"`
		Names []string `json:"names"`
	}
	if json.Unmarshal(hf.Info.Features[col], &feat) != nil || feat.Type != "ClassLabel" || len(feat.Names) == 0 {
		return nil
	}
	return feat.Names
}

// hfMetaKey is the schema metadata key of Hugging Face datasets.
const hfMetaKey = "huggingface"

// protect runs f, turning a panic into an error wrapping ErrFormat.
func protect(what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s: %s", ErrFormat, what, shortErr(fmt.Errorf("%v", p)))
		}
	}()
	return f()
}

// shortErr shortens a library error for a one-line message.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
