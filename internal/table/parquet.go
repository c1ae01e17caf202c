package table

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/arrow/go/v15/parquet/schema"

	"github.com/siampipe/siampipe/internal/ipcguard"
)

// parquetMagic opens and closes a Parquet file.
const parquetMagic = "PAR1"

// parquetBatchRows is the number of rows a Parquet batch holds at most.
// Memory is bounded by it and by the page size: the reader holds one page
// of each column read, never a whole row group.
const parquetBatchRows = 256

// NewParquetReader reads the table in the Parquet file of size bytes that
// r reads. Only the image and label columns are read, a batch of at most
// 256 rows at a time, holding one page of each in memory. Arrow Go reads
// uncompressed, snappy, gzip, brotli and zstd pages, not LZ4.
//
// The columns are read at the Parquet level, leaf by leaf, not through
// pqarrow: pqarrow reads the fields of a struct column (a Hugging Face
// Image) in goroutines of its own, where a panic on corrupt bytes could not
// be recovered.
func NewParquetReader(r io.ReaderAt, size int64, opt Options) (*Reader, error) {
	s := &parquetSource{ra: r, size: size}
	if err := s.open(opt); err != nil {
		return nil, err
	}
	rd := &Reader{src: s}
	if s.label.col >= 0 {
		rd.labels = s.lab
	}
	return rd, nil
}

// parquetSource reads batches from a Parquet file.
type parquetSource struct {
	ra    io.ReaderAt
	size  int64
	rdr   *file.Reader
	alloc memory.Allocator

	image, path, label pqLeaf // path and label have col -1 when absent
	labelKind          pqLabelKind
	lab                *labeler
	imageName          string

	rgRows []int64 // rows of each row group
	nrows  int64
	rg     int   // current row group, -1 before the first
	left   int64 // rows of it not read yet
}

// pqLeaf is one leaf column read at the Parquet level, through a
// file.RecordReader (as pqarrow's leaf reader does). Not through
// file.ColumnChunkReader.ReadBatch: when a page's definition levels run out
// before its declared number of values, ReadBatch loops forever (found by
// FuzzParquet); the record reader stops.
type pqLeaf struct {
	col    int
	maxDef int16
	rr     file.RecordReader // of the current row group
}

// pqLabelKind tells how a label leaf's values are stored.
type pqLabelKind struct {
	str      bool // BYTE_ARRAY holding strings
	unsigned bool // INT32 or INT64 holding unsigned values
}

func (s *parquetSource) open(opt Options) error {
	if err := s.checkFile(); err != nil {
		return err
	}
	// No allocation of the reader needs more than a page (checkChunk
	// bounds those).
	s.alloc = ipcguard.NewAllocator(maxPage)
	props := parquet.NewReaderProperties(s.alloc)
	props.BufferedStreamEnabled = true // one page in memory, not a whole column chunk
	props.BufferSize = 1 << 16
	err := protect("Parquet file", func() (err error) {
		s.rdr, err = file.NewParquetReader(io.NewSectionReader(s.ra, 0, s.size), file.WithReadProps(props))
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: corrupt Parquet file: %v", ErrFormat, shortErr(err))
	}
	return protect("Parquet file", func() error {
		if err := s.columns(opt); err != nil {
			return err
		}
		if err := s.checkRowGroups(); err != nil {
			return err
		}
		if s.label.col >= 0 && s.labelKind.str {
			return s.firstPass()
		}
		return nil
	})
}

// checkFile checks the magic numbers and the footer's Thrift structure.
func (s *parquetSource) checkFile() error {
	if s.size < 12 {
		return fmt.Errorf("%w: %d bytes are too few for a Parquet file", ErrFormat, s.size)
	}
	var head [4]byte
	var tail [8]byte
	if _, err := s.ra.ReadAt(head[:], 0); err != nil {
		return err
	}
	if _, err := s.ra.ReadAt(tail[:], s.size-8); err != nil {
		return err
	}
	switch {
	case string(head[:]) != parquetMagic:
		return fmt.Errorf("%w: no Parquet magic (PAR1) at the start", ErrFormat)
	case string(tail[4:]) == "PARE":
		return fmt.Errorf("%w: encrypted Parquet files are not supported", ErrFormat)
	case string(tail[4:]) != parquetMagic:
		return fmt.Errorf("%w: Parquet file without its footer (truncated?)", ErrFormat)
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n == 0 || n > s.size-12 || n > maxFooter {
		return fmt.Errorf("%w: corrupt Parquet footer (length %d in a file of %d bytes)", ErrFormat, n, s.size)
	}
	footer := make([]byte, n)
	if _, err := s.ra.ReadAt(footer, s.size-8-n); err != nil {
		return err
	}
	if err := checkThriftFooter(footer); err != nil {
		return fmt.Errorf("%w: corrupt Parquet footer (%v)", ErrFormat, err)
	}
	return nil
}

// columns finds and checks the image and label columns.
func (s *parquetSource) columns(opt Options) error {
	md := s.rdr.MetaData()
	sc := md.Schema
	root := sc.Root()
	var names []string
	for i := 0; i < root.NumFields(); i++ {
		names = append(names, root.Field(i).Name())
	}
	imgName, lblName, err := opt.resolve(names)
	if err != nil {
		return err
	}
	s.imageName = imgName
	s.path.col, s.label.col = -1, -1
	img := root.Field(root.FieldIndexByName(imgName))
	bytesNode, pathNode := pqImageNodes(img)
	if bytesNode == nil {
		return imageTypeError(imgName, pqTypeString(img))
	}
	if s.image, err = pqLeafOf(sc, bytesNode); err != nil {
		return err
	}
	if pathNode != nil {
		if s.path, err = pqLeafOf(sc, pathNode); err != nil {
			return err
		}
	}
	if lblName == "" {
		return nil
	}
	lbl := root.Field(root.FieldIndexByName(lblName))
	kind, ok := pqLabelKindOf(lbl)
	if !ok {
		return labelTypeError(lblName, pqTypeString(lbl))
	}
	s.labelKind = kind
	if s.label, err = pqLeafOf(sc, lbl); err != nil {
		return err
	}
	if kind.str {
		s.lab = &labeler{col: lblName, strings: true}
		return nil
	}
	s.lab, err = newIntLabeler(lblName, hfClassNames(pqHFMeta(md.KeyValueMetadata()), lblName))
	return err
}

// pqHFMeta returns the Hugging Face metadata of a Parquet file: a key of
// the file's metadata (pyarrow writes it there), or of the Arrow schema
// that Arrow writers store, base64-encoded, under "ARROW:schema" (arrow-rs
// writes it only there). It returns "" when there is none.
func pqHFMeta(kv metadata.KeyValueMetadata) string {
	if v := kv.FindValue(hfMetaKey); v != nil {
		return *v
	}
	enc := kv.FindValue("ARROW:schema")
	if enc == nil {
		return ""
	}
	msg, err := base64.StdEncoding.DecodeString(*enc)
	if err != nil {
		if msg, err = base64.RawStdEncoding.DecodeString(*enc); err != nil {
			return ""
		}
	}
	var meta string
	protect("ARROW:schema", func() error {
		rr, err := openStream(bytes.NewReader(msg))
		if err != nil {
			return err
		}
		defer rr.Release()
		meta, _ = rr.Schema().Metadata().GetValue(hfMetaKey)
		return nil
	})
	return meta
}

// pqLeafOf returns the leaf column of primitive node n.
func pqLeafOf(sc *schema.Schema, n schema.Node) (pqLeaf, error) {
	i := sc.ColumnIndexByNode(n)
	if i < 0 {
		return pqLeaf{}, fmt.Errorf("%w: column %q has no leaf in the Parquet schema", ErrFormat, n.Path())
	}
	c := sc.Column(i)
	if c.MaxRepetitionLevel() != 0 {
		return pqLeaf{}, fmt.Errorf("%w: column %q is repeated", ErrColumnType, n.Path())
	}
	return pqLeaf{col: i, maxDef: c.MaxDefinitionLevel()}, nil
}

// pqImageNodes returns the node of the image bytes in image column n (n
// itself, or its field "bytes") and of its field "path", if any. bytes is
// nil when n is of another type.
func pqImageNodes(n schema.Node) (bytes, path schema.Node) {
	if n.RepetitionType() == parquet.Repetitions.Repeated {
		return nil, nil
	}
	if pqIsBinary(n) {
		return n, nil
	}
	g, ok := n.(*schema.GroupNode)
	if !ok || pqIsNested(g) {
		return nil, nil
	}
	if i := g.FieldIndexByName("bytes"); i >= 0 && pqIsBinary(g.Field(i)) && g.Field(i).RepetitionType() != parquet.Repetitions.Repeated {
		bytes = g.Field(i)
	}
	if i := g.FieldIndexByName("path"); i >= 0 && pqIsString(g.Field(i)) && g.Field(i).RepetitionType() != parquet.Repetitions.Repeated {
		path = g.Field(i)
	}
	if bytes == nil {
		return nil, nil
	}
	return bytes, path
}

// pqIsNested tells whether a group is a list or map rather than a struct.
func pqIsNested(g *schema.GroupNode) bool {
	switch g.LogicalType().(type) {
	case schema.ListLogicalType, *schema.ListLogicalType, schema.MapLogicalType, *schema.MapLogicalType:
		return true
	}
	for i := 0; i < g.NumFields(); i++ {
		if g.Field(i).RepetitionType() == parquet.Repetitions.Repeated {
			return true
		}
	}
	return false
}

// pqIsBinary tells whether n is a BYTE_ARRAY of bytes (not of text).
func pqIsBinary(n schema.Node) bool {
	p, ok := n.(*schema.PrimitiveNode)
	if !ok || p.PhysicalType() != parquet.Types.ByteArray {
		return false
	}
	switch p.LogicalType().(type) {
	case nil, schema.NoLogicalType, *schema.NoLogicalType:
		return true
	}
	return false
}

// pqIsString tells whether n is a BYTE_ARRAY of text.
func pqIsString(n schema.Node) bool {
	p, ok := n.(*schema.PrimitiveNode)
	if !ok || p.PhysicalType() != parquet.Types.ByteArray {
		return false
	}
	switch p.LogicalType().(type) {
	case schema.StringLogicalType, *schema.StringLogicalType, schema.EnumLogicalType, *schema.EnumLogicalType:
		return true
	}
	return false
}

// pqLabelKindOf tells how label column n stores its labels; ok is false
// when n is not an integer or string column.
func pqLabelKindOf(n schema.Node) (kind pqLabelKind, ok bool) {
	p, isPrim := n.(*schema.PrimitiveNode)
	if !isPrim || n.RepetitionType() == parquet.Repetitions.Repeated {
		return kind, false
	}
	if pqIsString(n) {
		return pqLabelKind{str: true}, true
	}
	if p.PhysicalType() != parquet.Types.Int32 && p.PhysicalType() != parquet.Types.Int64 {
		return kind, false
	}
	switch lt := p.LogicalType().(type) {
	case nil, schema.NoLogicalType, *schema.NoLogicalType:
		return kind, true
	case schema.IntLogicalType:
		return pqLabelKind{unsigned: !lt.IsSigned()}, true
	case *schema.IntLogicalType:
		return pqLabelKind{unsigned: !lt.IsSigned()}, true
	}
	return kind, false
}

// pqTypeString describes a Parquet node's type in Arrow's words.
func pqTypeString(n schema.Node) string {
	rep := ""
	if n.RepetitionType() == parquet.Repetitions.Repeated {
		rep = "repeated "
	}
	switch n := n.(type) {
	case *schema.PrimitiveNode:
		if pqIsString(n) {
			return rep + "utf8"
		}
		switch lt := n.LogicalType().(type) {
		case schema.IntLogicalType:
			return rep + intName(lt)
		case *schema.IntLogicalType:
			return rep + intName(*lt)
		case nil, schema.NoLogicalType, *schema.NoLogicalType:
			switch n.PhysicalType() {
			case parquet.Types.Boolean:
				return rep + "bool"
			case parquet.Types.Int32:
				return rep + "int32"
			case parquet.Types.Int64:
				return rep + "int64"
			case parquet.Types.Float:
				return rep + "float32"
			case parquet.Types.Double:
				return rep + "float64"
			case parquet.Types.ByteArray:
				return rep + "binary"
			case parquet.Types.FixedLenByteArray:
				return fmt.Sprintf("%sfixed_size_binary[%d]", rep, n.TypeLength())
			}
			return rep + strings.ToLower(n.PhysicalType().String())
		default:
			return fmt.Sprintf("%s%s (Parquet %s)", rep, lt, n.PhysicalType())
		}
	case *schema.GroupNode:
		if pqIsNested(n) {
			return rep + "a list or map"
		}
		fs := make([]string, n.NumFields())
		for i := range fs {
			fs[i] = n.Field(i).Name() + ": " + pqTypeString(n.Field(i))
		}
		return rep + "struct<" + strings.Join(fs, ", ") + ">"
	}
	return "unknown"
}

func intName(lt schema.IntLogicalType) string {
	s := fmt.Sprintf("int%d", lt.BitWidth())
	if !lt.IsSigned() {
		s = "u" + s
	}
	return s
}

// checkRowGroups checks the row counts and every column chunk we read.
func (s *parquetSource) checkRowGroups() error {
	md := s.rdr.MetaData()
	old := md.WriterVersion().LessThan(metadata.Parquet816FixedVersion)
	leaves := []int{s.image.col}
	for _, c := range []int{s.path.col, s.label.col} {
		if c >= 0 {
			leaves = append(leaves, c)
		}
	}
	s.rg = -1
	for i := 0; i < s.rdr.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		n := rg.NumRows()
		if n < 0 || n > maxRowGroupRows {
			return fmt.Errorf("%w: row group %d claims %d rows", ErrFormat, i, n)
		}
		for _, c := range leaves {
			cc, err := rg.ColumnChunk(c)
			if err == nil {
				err = checkChunk(s.ra, s.size, cc, old)
			}
			if err != nil {
				return fmt.Errorf("%w: row group %d, column %s: %v", ErrFormat, i, md.Schema.Column(c).Path(), err)
			}
		}
		s.rgRows = append(s.rgRows, n)
		s.nrows += n
	}
	return nil
}

// firstPass reads every string label, for the classes.
func (s *parquetSource) firstPass() error {
	set := classSet{}
	row := 0
	leaf := s.label
	defer leaf.close()
	for rg, rows := range s.rgRows {
		if err := s.openLeaf(&leaf, rg); err != nil {
			return err
		}
		for left := int(rows); left > 0; {
			n := min(left, parquetBatchRows)
			got, err := readStrings(&leaf, n, func(i int, v string, ok bool) error {
				if !ok {
					return s.lab.null(row + i)
				}
				return set.add(s.lab, row+i, v)
			})
			if err != nil {
				return s.readErr(rg, leaf.col, err)
			}
			if got != n {
				return s.shortErr(rg, leaf.col, int(rows)-left+got)
			}
			row, left = row+n, left-n
		}
	}
	set.finish(s.lab)
	return nil
}

func (s *parquetSource) rows() int { return int(s.nrows) }

// openLeaf points leaf at its column chunk in row group rg.
func (s *parquetSource) openLeaf(leaf *pqLeaf, rg int) error {
	leaf.close()
	pr, err := s.rdr.RowGroup(rg).GetColumnPageReader(leaf.col)
	if err != nil {
		return s.readErr(rg, leaf.col, err)
	}
	descr := s.rdr.MetaData().Schema.Column(leaf.col)
	info := file.LevelInfo{NullSlotUsage: 1, DefLevel: leaf.maxDef}
	leaf.rr = file.NewRecordReader(descr, info, arrow.BinaryTypes.Binary, s.alloc, s.rdr.BufferPool())
	leaf.rr.SetPageReader(pr)
	return nil
}

func (l *pqLeaf) close() {
	if l.rr != nil {
		l.rr.Release()
		l.rr = nil
	}
}

// Close releases the column readers.
func (s *parquetSource) Close() error {
	s.image.close()
	s.path.close()
	s.label.close()
	return nil
}

func (s *parquetSource) readErr(rg, col int, err error) error {
	if errors.Is(err, ErrLabel) || errors.Is(err, ErrNoImage) || errors.Is(err, ErrFormat) {
		return err
	}
	return fmt.Errorf("%w: row group %d, column %s: %v", ErrFormat, rg, s.rdr.MetaData().Schema.Column(col).Path(), shortErr(err))
}

// shortErr is the error for a column chunk that ends after n of its row
// group's rows.
func (s *parquetSource) shortErr(rg, col, n int) error {
	return fmt.Errorf("%w: row group %d, column %s: %d rows, the metadata says %d (truncated?)", ErrFormat, rg, s.rdr.MetaData().Schema.Column(col).Path(), n, s.rgRows[rg])
}

func (s *parquetSource) next(row int) (Batch, error) {
	var b Batch
	err := protect("Parquet file", func() error {
		for s.left == 0 {
			if s.rg+1 >= len(s.rgRows) {
				return io.EOF
			}
			s.rg++
			s.left = s.rgRows[s.rg]
			for _, leaf := range []*pqLeaf{&s.image, &s.path, &s.label} {
				if leaf.col >= 0 {
					if err := s.openLeaf(leaf, s.rg); err != nil {
						return err
					}
				}
			}
		}
		n := int(min(s.left, parquetBatchRows))
		var err error
		b, err = s.batch(row, n)
		s.left -= int64(n)
		return err
	})
	return b, err
}

// batch reads the next n rows of the current row group.
func (s *parquetSource) batch(row, n int) (Batch, error) {
	b := Batch{Row: row, Encoded: make([][]byte, n)}
	var buf []byte
	ends := make([]int, n)
	missing := -1
	got, err := readBytes(&s.image, n, func(i int, v []byte, ok bool) error {
		if !ok && missing < 0 {
			missing = i
		}
		buf = append(buf, v...)
		ends[i] = len(buf)
		return nil
	})
	if err != nil {
		return b, s.readErr(s.rg, s.image.col, err)
	}
	if got != n {
		return b, s.shortErr(s.rg, s.image.col, int(s.rgRows[s.rg]-s.left)+got)
	}
	if s.path.col >= 0 {
		path, hasPath := "", false
		if _, err := readStrings(&s.path, n, func(i int, v string, ok bool) error {
			if i == missing {
				path, hasPath = v, ok
			}
			return nil
		}); err != nil {
			return b, s.readErr(s.rg, s.path.col, err)
		}
		if missing >= 0 {
			return b, noImage(s.imageName, row+missing, path, hasPath)
		}
	}
	if missing >= 0 {
		return b, noImage(s.imageName, row+missing, "", false)
	}
	at := 0
	for i, e := range ends {
		b.Encoded[i] = buf[at:e:e]
		at = e
	}
	if s.label.col < 0 {
		return b, nil
	}
	b.Labels = make([]int, n)
	if s.labelKind.str {
		got, err = readStrings(&s.label, n, func(i int, v string, ok bool) (err error) {
			if !ok {
				return s.lab.null(row + i)
			}
			b.Labels[i], err = s.lab.str(row+i, v)
			return err
		})
	} else {
		got, err = readInts(&s.label, n, s.labelKind.unsigned, func(i int, v int64, big, ok bool) (err error) {
			if !ok {
				return s.lab.null(row + i)
			}
			b.Labels[i], err = s.lab.int(row+i, v, big)
			return err
		})
	}
	if err != nil {
		return b, s.readErr(s.rg, s.label.col, err)
	}
	if got != n {
		return b, s.shortErr(s.rg, s.label.col, int(s.rgRows[s.rg]-s.left)+got)
	}
	return b, nil
}

// read reads up to n rows of the current row group into the record
// reader, and returns how many it read.
func (l *pqLeaf) read(n int) (int, error) {
	l.rr.Reset()
	if err := l.rr.Reserve(int64(n)); err != nil {
		return 0, err
	}
	got := 0
	for got < n && l.rr.HasMore() {
		k, err := l.rr.ReadRecords(int64(n - got))
		if err != nil {
			return got, err
		}
		if k <= 0 {
			break
		}
		got += int(k)
	}
	if got > n || l.rr.ValuesWritten() != got {
		return got, fmt.Errorf("%d values for %d rows", l.rr.ValuesWritten(), got)
	}
	return got, nil
}

// readBytes reads up to n rows of a BYTE_ARRAY leaf, calling fn with each
// row's value (ok false for a null), and returns the number of rows read.
func readBytes(leaf *pqLeaf, n int, fn func(i int, v []byte, ok bool) error) (int, error) {
	br, ok := leaf.rr.(file.BinaryRecordReader)
	if !ok {
		return 0, fmt.Errorf("column is not BYTE_ARRAY")
	}
	got, err := leaf.read(n)
	if err != nil {
		return got, err
	}
	chunks := br.GetBuilderChunks()
	defer func() {
		for _, c := range chunks {
			c.Release()
		}
	}()
	i := 0
	for _, c := range chunks {
		b, ok := c.(*array.Binary)
		if !ok {
			return i, fmt.Errorf("column read as %s", c.DataType())
		}
		for j := 0; j < b.Len(); j++ {
			if err := fn(i, b.Value(j), !b.IsNull(j)); err != nil {
				return i, err
			}
			i++
		}
	}
	if i != got {
		return i, fmt.Errorf("%d values for %d rows", i, got)
	}
	return got, nil
}

func readStrings(leaf *pqLeaf, n int, fn func(i int, v string, ok bool) error) (int, error) {
	return readBytes(leaf, n, func(i int, v []byte, ok bool) error { return fn(i, string(v), ok) })
}

// readInts reads an INT32 or INT64 leaf (of unsigned values if unsigned).
func readInts(leaf *pqLeaf, n int, unsigned bool, fn func(i int, v int64, big, ok bool) error) (int, error) {
	got, err := leaf.read(n)
	if err != nil {
		return got, err
	}
	valid := leaf.rr.ReleaseValidBits()
	if valid != nil {
		defer valid.Release()
		if valid.Len()*8 < got {
			return 0, fmt.Errorf("validity bitmap of %d bytes for %d rows", valid.Len(), got)
		}
	}
	ok := func(i int) bool { return valid == nil || bitutil.BitIsSet(valid.Bytes(), i) }
	raw := leaf.rr.Values()
	switch leaf.rr.Type() {
	case parquet.Types.Int32:
		vals := arrow.Int32Traits.CastFromBytes(raw)
		if len(vals) < got {
			return 0, fmt.Errorf("%d values for %d rows", len(vals), got)
		}
		for i, v := range vals[:got] {
			w := int64(v)
			if unsigned {
				w = int64(uint32(v))
			}
			if err := fn(i, w, false, ok(i)); err != nil {
				return i, err
			}
		}
	case parquet.Types.Int64:
		vals := arrow.Int64Traits.CastFromBytes(raw)
		if len(vals) < got {
			return 0, fmt.Errorf("%d values for %d rows", len(vals), got)
		}
		for i, v := range vals[:got] {
			if err := fn(i, v, unsigned && v < 0, ok(i)); err != nil {
				return i, err
			}
		}
	default:
		return 0, fmt.Errorf("column is not INT32 or INT64")
	}
	return got, nil
}
