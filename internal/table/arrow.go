package table

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"

	"github.com/siampipe/siampipe/internal/ipcguard"
)

// arrowOptions are what the table readers accept of Arrow IPC: dictionary
// batches too (a dictionary-encoded label column).
var arrowOptions = ipcguard.Options{Dictionaries: true}

// arrowMagic opens (and closes) the Arrow IPC file format.
const arrowMagic = "ARROW1"

// NewArrowReader reads the table in the Arrow IPC stream or file in (a
// file when it starts with "ARROW1"). A file is read in place when in is
// an io.ReaderAt and io.Seeker (an *os.File, a *bytes.Reader), else into
// memory first, since the file format keeps its index at the end. A stream
// with a string label column is read twice (the classes come first), so in
// must then be an io.Seeker.
func NewArrowReader(in io.Reader, opt Options) (*Reader, error) {
	start := int64(-1)
	seeker, _ := in.(io.Seeker)
	if seeker != nil {
		if p, err := seeker.Seek(0, io.SeekCurrent); err == nil {
			start = p
		}
	}
	br := bufio.NewReaderSize(in, 1<<16)
	head, err := br.Peek(len(arrowMagic))
	switch {
	case len(head) == 0 && (err == nil || err == io.EOF):
		return nil, fmt.Errorf("%w: the input is empty", ErrFormat)
	case len(head) == 0:
		return nil, err
	case bytes.HasPrefix(head, []byte(parquetMagic)):
		return nil, fmt.Errorf("%w: the input is Parquet, not Arrow IPC", ErrFormat)
	case string(head) == arrowMagic:
		return newArrowFile(in, br, start, opt)
	}
	open := func() (*ipcguard.Reader, error) { return openStream(br) }
	if start >= 0 {
		first := true
		open = func() (*ipcguard.Reader, error) {
			if !first {
				if _, err := seeker.Seek(start, io.SeekStart); err != nil {
					return nil, err
				}
				br.Reset(in)
			}
			first = false
			return openStream(br)
		}
	}
	rr, err := open()
	if err != nil {
		return nil, fmt.Errorf("%w: neither Parquet (PAR1) nor an Arrow IPC file (ARROW1) or stream (%v)", ErrFormat, shortErr(err))
	}
	return newArrowSource(rr, "Arrow IPC stream", -1, start >= 0, open, opt)
}

// newArrowFile opens an IPC file whose reading starts at offset start of
// in (-1: in cannot seek), of which br has buffered the first bytes.
func newArrowFile(in io.Reader, br *bufio.Reader, start int64, opt Options) (*Reader, error) {
	var ra interface {
		io.ReaderAt
		io.Seeker
	}
	if r, ok := in.(io.ReaderAt); ok && start >= 0 {
		end, err := in.(io.Seeker).Seek(0, io.SeekEnd)
		if err != nil {
			return nil, err
		}
		ra = io.NewSectionReader(r, start, end-start)
	} else {
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		ra = bytes.NewReader(data)
	}
	size, err := ra.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	open := func() (*ipcguard.Reader, error) {
		return ipcguard.NewFileReader(ra, size, arrowOptions)
	}
	rr, err := open()
	if err != nil {
		return nil, fmt.Errorf("%w: corrupt Arrow IPC file: %v", ErrFormat, shortErr(err))
	}
	return newArrowSource(rr, "Arrow IPC file", int(rr.Rows()), true, open, opt)
}

// openStream reads a stream through ipcguard's checks.
func openStream(r io.Reader) (*ipcguard.Reader, error) {
	return ipcguard.NewStreamReader(r, arrowOptions)
}

// arrowSource reads batches from an IPC stream or file.
type arrowSource struct {
	rr    *ipcguard.Reader
	what  string // "Arrow IPC stream" or "Arrow IPC file"
	nrows int
	img   arrowImage
	lbl   int // label column index, or -1
	lab   *labeler
}

// newArrowSource checks the schema of rr against opt and makes the Reader.
// rows is the table's row count (-1: unknown); open reopens the input from
// its start when rewind is true.
func newArrowSource(rr *ipcguard.Reader, what string, rows int, rewind bool, open func() (*ipcguard.Reader, error), opt Options) (*Reader, error) {
	s := &arrowSource{rr: rr, what: what, nrows: rows, lbl: -1}
	if err := s.init(rewind, open, opt); err != nil {
		if s.rr != nil {
			s.rr.Release()
		}
		return nil, err
	}
	r := &Reader{src: s}
	if s.lbl >= 0 {
		r.labels = s.lab
	}
	return r, nil
}

func (s *arrowSource) init(rewind bool, open func() (*ipcguard.Reader, error), opt Options) error {
	schema := s.rr.Schema()
	var names []string
	for _, f := range schema.Fields() {
		names = append(names, f.Name)
	}
	imgName, lblName, err := opt.resolve(names)
	if err != nil {
		return err
	}
	idx := schema.FieldIndices(imgName)
	if s.img, err = checkArrowImage(imgName, schema.Field(idx[0]).Type); err != nil {
		return err
	}
	s.img.col = idx[0]
	if lblName == "" {
		return nil
	}
	s.lbl = schema.FieldIndices(lblName)[0]
	lt := schema.Field(s.lbl).Type
	isString, err := checkArrowLabel(lblName, lt)
	if err != nil {
		return err
	}
	if !isString {
		meta, _ := schema.Metadata().GetValue(hfMetaKey)
		s.lab, err = newIntLabeler(lblName, hfClassNames(meta, lblName))
		return err
	}
	s.lab = &labeler{col: lblName, strings: true}
	if !rewind {
		return fmt.Errorf("%w: label column %q is %s, whose classes take a first pass over the table, and this input cannot be read twice (read it from a file)", ErrColumnType, lblName, lt)
	}
	// First pass: the classes, and the number of rows.
	set, rows := classSet{}, 0
	err = protect(s.what, func() error {
		for s.rr.Next() {
			rec := s.rr.Record()
			col := rec.Column(s.lbl)
			if err := eachString(col, func(i int, v string, ok bool) error {
				if !ok {
					return s.lab.null(rows + i)
				}
				return set.add(s.lab, rows+i, v)
			}); err != nil {
				return err
			}
			rows += int(rec.NumRows())
		}
		return s.readErr()
	})
	if err != nil {
		return err
	}
	set.finish(s.lab)
	s.nrows = rows
	s.rr.Release()
	s.rr = nil
	if s.rr, err = open(); err != nil {
		return fmt.Errorf("%w: %s: cannot read it again: %v", ErrFormat, s.what, shortErr(err))
	}
	return nil
}

// readErr is the error that ended the record reader, if any.
func (s *arrowSource) readErr() error {
	if err := s.rr.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("%w: %s is truncated or corrupt: %v", ErrFormat, s.what, shortErr(err))
	}
	return nil
}

func (s *arrowSource) rows() int { return s.nrows }

func (s *arrowSource) Close() error {
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	return nil
}

func (s *arrowSource) next(row int) (Batch, error) {
	if s.rr == nil {
		return Batch{}, io.EOF
	}
	var b Batch
	err := protect(s.what, func() error {
		if !s.rr.Next() {
			if err := s.readErr(); err != nil {
				return err
			}
			return io.EOF
		}
		rec := s.rr.Record()
		var err error
		b.Row = row
		if b.Encoded, err = s.img.values(rec.Column(s.img.col), row); err != nil {
			return err
		}
		if s.lbl >= 0 {
			b.Labels, err = arrowLabels(rec.Column(s.lbl), s.lab, row)
		}
		return err
	})
	return b, err
}

// arrowImage locates the image bytes in the image column: the column
// itself, or the fields "bytes" (and "path", -1 if none) of a struct.
type arrowImage struct {
	col, bytes, path int
	name             string
}

// checkArrowImage checks the type of image column name.
func checkArrowImage(name string, t arrow.DataType) (arrowImage, error) {
	im := arrowImage{name: name, bytes: -1, path: -1}
	switch t := t.(type) {
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return im, nil
	case *arrow.StructType:
		if i, ok := t.FieldIdx("bytes"); ok {
			switch t.Field(i).Type.(type) {
			case *arrow.BinaryType, *arrow.LargeBinaryType:
				im.bytes = i
			}
		}
		if i, ok := t.FieldIdx("path"); ok {
			switch t.Field(i).Type.(type) {
			case *arrow.StringType, *arrow.LargeStringType:
				im.path = i
			}
		}
		if im.bytes >= 0 {
			return im, nil
		}
	}
	return im, imageTypeError(name, t.String())
}

// checkArrowLabel checks the type of label column name and tells whether
// it holds strings.
func checkArrowLabel(name string, t arrow.DataType) (isString bool, err error) {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType:
		return true, nil
	case *arrow.DictionaryType:
		switch t.ValueType.(type) {
		case *arrow.StringType, *arrow.LargeStringType:
			return true, nil
		}
	default:
		switch t.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			return false, nil
		}
	}
	return false, labelTypeError(name, t.String())
}

type binaryValues interface {
	Len() int
	IsNull(int) bool
	Value(int) []byte
}

type stringValues interface {
	Len() int
	IsNull(int) bool
	Value(int) string
}

// values copies the image bytes of a column's rows (row0 is the first's
// index in the table) into one new buffer.
func (im arrowImage) values(col arrow.Array, row0 int) ([][]byte, error) {
	var (
		st    *array.Struct
		data  binaryValues
		paths stringValues
	)
	if im.bytes < 0 {
		data = col.(binaryValues)
	} else {
		st = col.(*array.Struct)
		data = st.Field(im.bytes).(binaryValues)
		if im.path >= 0 {
			paths = st.Field(im.path).(stringValues)
		}
	}
	n, total := col.Len(), 0
	for i := 0; i < n; i++ {
		if (st != nil && st.IsNull(i)) || data.IsNull(i) {
			path, hasPath := "", false
			if st != nil && !st.IsNull(i) && paths != nil && !paths.IsNull(i) {
				path, hasPath = paths.Value(i), true
			}
			return nil, noImage(im.name, row0+i, path, hasPath)
		}
		total += len(data.Value(i))
	}
	buf := make([]byte, 0, total)
	out := make([][]byte, n)
	for i := range out {
		at := len(buf)
		buf = append(buf, data.Value(i)...)
		out[i] = buf[at:len(buf):len(buf)]
	}
	return out, nil
}

// noImage is the error for row's missing image; path is the file it
// names instead, if hasPath.
func noImage(col string, row int, path string, hasPath bool) error {
	if hasPath {
		return fmt.Errorf("%w: column %q row %d has no image bytes, only the path %q (the table refers to image files instead of holding them)", ErrNoImage, col, row, path)
	}
	return fmt.Errorf("%w: column %q row %d is null", ErrNoImage, col, row)
}

// arrowLabels returns the class indices of a label column's rows.
func arrowLabels(col arrow.Array, l *labeler, row0 int) ([]int, error) {
	out := make([]int, col.Len())
	var err error
	if l.strings {
		err = eachString(col, func(i int, v string, ok bool) (err error) {
			if !ok {
				return l.null(row0 + i)
			}
			out[i], err = l.str(row0+i, v)
			return err
		})
	} else {
		err = eachInt(col, func(i int, v int64, big, ok bool) (err error) {
			if !ok {
				return l.null(row0 + i)
			}
			out[i], err = l.int(row0+i, v, big)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachString calls fn with each value of a string or dictionary-of-string
// column; ok is false for a null.
func eachString(col arrow.Array, fn func(i int, v string, ok bool) error) error {
	if d, ok := col.(*array.Dictionary); ok {
		dict := d.Dictionary().(stringValues)
		for i := 0; i < d.Len(); i++ {
			if d.IsNull(i) {
				if err := fn(i, "", false); err != nil {
					return err
				}
				continue
			}
			k := d.GetValueIndex(i)
			if k < 0 || k >= dict.Len() {
				return fmt.Errorf("%w: dictionary index %d of row %d is outside the dictionary of %d values", ErrFormat, k, i, dict.Len())
			}
			if err := fn(i, dict.Value(k), !dict.IsNull(k)); err != nil {
				return err
			}
		}
		return nil
	}
	s := col.(stringValues)
	for i := 0; i < s.Len(); i++ {
		if err := fn(i, s.Value(i), !s.IsNull(i)); err != nil {
			return err
		}
	}
	return nil
}

// eachInt calls fn with each value of an integer column as an int64 (big:
// a uint64 above the int64 range); ok is false for a null.
func eachInt(col arrow.Array, fn func(i int, v int64, big, ok bool) error) error {
	switch a := col.(type) {
	case *array.Int8:
		return eachIntOf(a.Int8Values(), col, fn)
	case *array.Int16:
		return eachIntOf(a.Int16Values(), col, fn)
	case *array.Int32:
		return eachIntOf(a.Int32Values(), col, fn)
	case *array.Int64:
		return eachIntOf(a.Int64Values(), col, fn)
	case *array.Uint8:
		return eachIntOf(a.Uint8Values(), col, fn)
	case *array.Uint16:
		return eachIntOf(a.Uint16Values(), col, fn)
	case *array.Uint32:
		return eachIntOf(a.Uint32Values(), col, fn)
	case *array.Uint64:
		return eachIntOf(a.Uint64Values(), col, fn)
	}
	return fmt.Errorf("%w: label array is %s", ErrColumnType, col.DataType())
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func eachIntOf[T integer](vals []T, col arrow.Array, fn func(i int, v int64, big, ok bool) error) error {
	if len(vals) != col.Len() {
		return fmt.Errorf("%w: %d label values for %d rows", ErrFormat, len(vals), col.Len())
	}
	for i, v := range vals {
		big := v > 0 && uint64(v) > 1<<63-1
		if err := fn(i, int64(v), big, !col.IsNull(i)); err != nil {
			return err
		}
	}
	return nil
}
