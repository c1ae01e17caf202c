package contract

import (
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// DefaultBatchRows is the number of rows per record batch when
// Options.BatchRows is zero: 4096 images of 28x28 make a ~3 MB batch, large
// enough to amortise per-batch overhead and small enough to stream.
const DefaultBatchRows = 4096

// FeaturesBatchRows is the number of rows per record batch of a features
// stream of dim-wide features as embed writes it (and concat joins its
// shards): batches of about 4 MB, at least 64 rows. The default 4096 rows
// of 8 KB features spend 15% of a one-core embed growing 32 MB buffers.
func FeaturesBatchRows(dim int) int { return max(64, (4<<20)/(4*max(dim, 1))) }

// Options configure a writer. The zero value writes uncompressed record
// batches of DefaultBatchRows rows.
type Options struct {
	// Compress is "" (none) or "zstd": Arrow IPC body compression, readable
	// by any Arrow implementation that supports it.
	Compress string
	// BatchRows is the number of rows per record batch (0: DefaultBatchRows).
	BatchRows int
	// Unlabelled writes every label as null (the label field nullable): the
	// rows of unlabelled data. Append's label argument is then ignored.
	Unlabelled bool
}

// CheckCompress reports whether name is a compression Options accepts.
func CheckCompress(name string) error {
	switch name {
	case "", "none", "zstd":
		return nil
	}
	return fmt.Errorf("unknown compression %q (use zstd or none)", name)
}

func (o Options) ipcOptions(schema *arrow.Schema) []ipc.Option {
	opts := []ipc.Option{ipc.WithSchema(schema)}
	if o.Compress == "zstd" {
		// One encoder: compression order does not change the bytes, but keep
		// the writer simple and deterministic.
		opts = append(opts, ipc.WithZstd(), ipc.WithCompressConcurrency(1))
	}
	return opts
}

// column accumulates one column of a batch as a plain Go slice.
type column struct {
	typ   arrow.DataType
	width int  // fixed list size, 0 for a scalar column
	null  bool // every value null (an unlabelled label column)
	i64   []int64
	i32   []int32
	u8    []uint8
	f32   []float32
}

func (c *column) array(n int) arrow.Array {
	switch c.typ.ID() {
	case arrow.INT64:
		return array.MakeFromData(prim(c.typ, n, arrow.Int64Traits.CastToBytes(c.i64)))
	case arrow.INT32:
		return array.MakeFromData(prim(c.typ, n, arrow.Int32Traits.CastToBytes(c.i32)))
	case arrow.UINT8:
		if c.null {
			valid := memory.NewBufferBytes(make([]byte, (n+7)/8))
			d := array.NewData(c.typ, n, []*memory.Buffer{valid, memory.NewBufferBytes(make([]byte, n))}, nil, n, 0)
			defer d.Release()
			return array.MakeFromData(d)
		}
		return array.MakeFromData(prim(c.typ, n, c.u8))
	case arrow.FIXED_SIZE_LIST:
		elem := c.typ.(*arrow.FixedSizeListType).Elem()
		var child *array.Data
		if elem.ID() == arrow.UINT8 {
			child = prim(elem, n*c.width, c.u8)
		} else {
			child = prim(elem, n*c.width, arrow.Float32Traits.CastToBytes(c.f32))
		}
		defer child.Release()
		return array.MakeFromData(array.NewData(c.typ, n, []*memory.Buffer{nil}, []arrow.ArrayData{child}, 0, 0))
	}
	panic("contract: unsupported column type " + c.typ.String())
}

func prim(t arrow.DataType, n int, b []byte) *array.Data {
	return array.NewData(t, n, []*memory.Buffer{nil, memory.NewBufferBytes(b)}, nil, 0, 0)
}

func (c *column) reset() {
	c.i64, c.i32, c.u8, c.f32 = c.i64[:0], c.i32[:0], c.u8[:0], c.f32[:0]
}

// rowWriter buffers rows of a kind and writes them as record batches.
type rowWriter struct {
	schema *arrow.Schema
	w      *ipc.Writer
	cols   []column
	n      int
	max    int
	closed bool
}

func newRowWriter(w io.Writer, schema *arrow.Schema, opt Options) *rowWriter {
	if opt.Unlabelled {
		fields := schema.Fields()
		fields[labelCol].Nullable = true
		md := schema.Metadata()
		schema = arrow.NewSchema(fields, &md)
	}
	rw := &rowWriter{schema: schema, w: ipc.NewWriter(w, opt.ipcOptions(schema)...), max: opt.BatchRows}
	if rw.max <= 0 {
		rw.max = DefaultBatchRows
	}
	for _, f := range schema.Fields() {
		c := column{typ: f.Type}
		if l, ok := f.Type.(*arrow.FixedSizeListType); ok {
			c.width = int(l.Len())
		}
		c.null = opt.Unlabelled && len(rw.cols) == labelCol
		rw.cols = append(rw.cols, c)
	}
	return rw
}

// row ends one row; it flushes a full batch.
func (rw *rowWriter) row() error {
	rw.n++
	if rw.n >= rw.max {
		return rw.flush()
	}
	return nil
}

func (rw *rowWriter) flush() error {
	if rw.n == 0 {
		return nil
	}
	arrs := make([]arrow.Array, len(rw.cols))
	for i := range rw.cols {
		arrs[i] = rw.cols[i].array(rw.n)
	}
	rec := array.NewRecord(rw.schema, arrs, int64(rw.n))
	err := rw.w.Write(rec)
	rec.Release()
	for i, a := range arrs {
		a.Release()
		rw.cols[i].reset()
	}
	rw.n = 0
	if err != nil {
		return fmt.Errorf("write record batch: %w", err)
	}
	return nil
}

func (rw *rowWriter) checkLen(what string, got, want int) error {
	if rw.closed {
		return fmt.Errorf("write after Close")
	}
	if got != want {
		return fmt.Errorf("%s has %d values, the stream's rows have %d", what, got, want)
	}
	return nil
}

// Close flushes buffered rows and writes the end-of-stream marker. It does
// not close the underlying io.Writer.
func (rw *rowWriter) Close() error {
	if rw.closed {
		return nil
	}
	err := rw.flush()
	rw.closed = true
	if cerr := rw.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close stream: %w", cerr)
	}
	return err
}

// checkImageMeta checks an image size and the channels and classes in meta.
func checkImageMeta(height, width int, meta Meta) error {
	if height <= 0 || width <= 0 {
		return fmt.Errorf("image size %dx%d is not positive", height, width)
	}
	c, err := meta.Channels()
	if err != nil {
		return err
	}
	if int64(c)*int64(height)*int64(width) > math.MaxInt32 {
		return fmt.Errorf("image size %dx%dx%d is too large", c, height, width)
	}
	_, err = meta.Classes()
	return err
}

// ImagesWriter writes an images stream.
type ImagesWriter struct{ rowWriter }

// NewImagesWriter starts an images stream of height x width images on w,
// of the channels meta records (MetaChannels, see Meta.SetChannels; 1 when
// absent). meta should carry MetaSplit and MetaSource, and MetaClasses when
// the labels have names other than FashionMNIST's; kind and size are set
// here.
func NewImagesWriter(w io.Writer, height, width int, meta Meta, opt Options) (*ImagesWriter, error) {
	if err := checkImageMeta(height, width, meta); err != nil {
		return nil, err
	}
	return &ImagesWriter{*newRowWriter(w, ImagesSchema(height, width, meta), opt)}, nil
}

// Append adds one image of channels*height*width pixels (CHW order).
func (w *ImagesWriter) Append(index int64, label uint8, pixels []uint8) error {
	if err := w.checkLen("image", len(pixels), w.cols[2].width); err != nil {
		return err
	}
	w.cols[0].i64 = append(w.cols[0].i64, index)
	w.cols[1].u8 = append(w.cols[1].u8, label)
	w.cols[2].u8 = append(w.cols[2].u8, pixels...)
	return w.row()
}

// PairsWriter writes a pairs stream.
type PairsWriter struct{ rowWriter }

// NewPairsWriter starts a pairs stream of height x width views on w. meta
// should carry MetaEpochs, MetaRowsPerEpoch, MetaSeed and the augmentation
// settings.
func NewPairsWriter(w io.Writer, height, width int, meta Meta, opt Options) (*PairsWriter, error) {
	if err := checkImageMeta(height, width, meta); err != nil {
		return nil, err
	}
	return &PairsWriter{*newRowWriter(w, PairsSchema(height, width, meta), opt)}, nil
}

// Append adds one pair of views of the image with the given index.
func (w *PairsWriter) Append(index int64, label uint8, epoch int32, view1, view2 []uint8) error {
	if err := w.checkLen("view1", len(view1), w.cols[3].width); err != nil {
		return err
	}
	if err := w.checkLen("view2", len(view2), w.cols[4].width); err != nil {
		return err
	}
	w.cols[0].i64 = append(w.cols[0].i64, index)
	w.cols[1].u8 = append(w.cols[1].u8, label)
	w.cols[2].i32 = append(w.cols[2].i32, epoch)
	w.cols[3].u8 = append(w.cols[3].u8, view1...)
	w.cols[4].u8 = append(w.cols[4].u8, view2...)
	return w.row()
}

// FeaturesWriter writes a features stream.
type FeaturesWriter struct{ rowWriter }

// NewFeaturesWriter starts a features stream of dim-wide features on w. meta
// should carry MetaLayer and MetaModel.
func NewFeaturesWriter(w io.Writer, dim int, meta Meta, opt Options) (*FeaturesWriter, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("feature dimension %d is not positive", dim)
	}
	return &FeaturesWriter{*newRowWriter(w, FeaturesSchema(dim, meta), opt)}, nil
}

// Append adds the feature vector of one image.
func (w *FeaturesWriter) Append(index int64, label uint8, feature []float32) error {
	if err := w.checkLen("feature", len(feature), w.cols[2].width); err != nil {
		return err
	}
	w.cols[0].i64 = append(w.cols[0].i64, index)
	w.cols[1].u8 = append(w.cols[1].u8, label)
	w.cols[2].f32 = append(w.cols[2].f32, feature...)
	return w.row()
}

// CoordsWriter writes a coords stream.
type CoordsWriter struct{ rowWriter }

// NewCoordsWriter starts a coords stream of n-dimensional points on w. meta
// should carry the settings of the reduction.
func NewCoordsWriter(w io.Writer, n int, meta Meta, opt Options) (*CoordsWriter, error) {
	if n <= 0 {
		return nil, fmt.Errorf("coordinate dimension %d is not positive", n)
	}
	return &CoordsWriter{*newRowWriter(w, CoordsSchema(n, meta), opt)}, nil
}

// Append adds the coordinates of one point.
func (w *CoordsWriter) Append(index int64, label uint8, coord []float32) error {
	if err := w.checkLen("coord", len(coord), w.cols[2].width); err != nil {
		return err
	}
	w.cols[0].i64 = append(w.cols[0].i64, index)
	w.cols[1].u8 = append(w.cols[1].u8, label)
	w.cols[2].f32 = append(w.cols[2].f32, coord...)
	return w.row()
}
