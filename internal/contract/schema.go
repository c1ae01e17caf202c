package contract

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
)

// Stream kinds, the values of the MetaKind metadata key.
const (
	KindImages   = "images"
	KindPairs    = "pairs"
	KindFeatures = "features"
	KindCoords   = "coords"
	KindModel    = "model"
)

// Schema metadata keys. Every key siampipe writes starts with "siampipe.".
const (
	MetaKind         = "siampipe.kind"           // stream kind (always present)
	MetaHeight       = "siampipe.height"         // image height in pixels (images, pairs)
	MetaWidth        = "siampipe.width"          // image width in pixels (images, pairs)
	MetaChannels     = "siampipe.channels"       // image channels, 1 or 3 (images, pairs, model; 1 when absent, and absent when 1)
	MetaClasses      = "siampipe.classes"        // class names indexed by label, a JSON list of strings (FashionMNIST's when absent)
	MetaSplit        = "siampipe.split"          // train | test (images and what derives from them)
	MetaSource       = "siampipe.source"         // where the images were read from
	MetaRows         = "siampipe.rows"           // rows in the stream (images, written by fetch)
	MetaEpochs       = "siampipe.epochs"         // epochs in a pairs stream
	MetaRowsPerEpoch = "siampipe.rows_per_epoch" // pairs per epoch
	MetaSeed         = "siampipe.seed"           // random seed of the stage that wrote the stream
	MetaDim          = "siampipe.dim"            // feature or coordinate width (features, coords)
	MetaLayer        = "siampipe.layer"          // model layer the features come from
	MetaModel        = "siampipe.model"          // digest of the checkpoint the features come from
	MetaArch         = "siampipe.arch"           // model architecture (model)
	MetaDepth        = "siampipe.depth"          // backbone convolutions per stage (model; 1 when absent, and absent when 1)
	MetaEpoch        = "siampipe.epoch"          // epochs completed (model)
	MetaStep         = "siampipe.step"           // optimiser steps completed (model)
	MetaStage        = "siampipe.stage"          // the stage that wrote the stream
	MetaVersion      = "siampipe.version"        // that stage's version
)

// Column names.
const (
	ColIndex   = "index"
	ColLabel   = "label"
	ColImage   = "image"
	ColEpoch   = "epoch"
	ColView1   = "view1"
	ColView2   = "view2"
	ColFeature = "feature"
	ColCoord   = "coord"
	ColName    = "name"
	ColShape   = "shape"
	ColValues  = "values"
)

// Meta is a stream's schema metadata: keys of the form "siampipe.<name>"
// mapped to string values.
type Meta map[string]string

// Int returns the metadata value of key parsed as an integer. It fails with
// an error naming the key when the key is missing or not an integer.
func (m Meta) Int(key string) (int, error) {
	s, ok := m[key]
	if !ok {
		return 0, fmt.Errorf("metadata %s is missing", key)
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("metadata %s=%q is not an integer", key, s)
	}
	return v, nil
}

// inherited lists, for each kind made from another stream, the metadata
// keys it carries over from that stream: the split and source of the
// images, and for coords the model and layer that made the features.
var inherited = map[string][]string{
	KindPairs:    {MetaSplit, MetaSource, MetaChannels, MetaClasses},
	KindFeatures: {MetaSplit, MetaSource, MetaClasses},
	KindCoords:   {MetaSplit, MetaSource, MetaModel, MetaLayer, MetaClasses},
}

// Inherit copies into m, and returns it, the keys that a stream of kind
// carries over from src, the metadata of the stream it was made from: those
// src has, overwriting m's. Other keys of src (its kind, stage, seed, ...)
// are left behind; kinds made from no stream inherit nothing.
func (m Meta) Inherit(kind string, src Meta) Meta {
	for _, k := range inherited[kind] {
		if v, ok := src[k]; ok {
			m[k] = v
		}
	}
	return m
}

// Clone returns a copy of m (nil gives an empty, non-nil Meta).
func (m Meta) Clone() Meta {
	c := make(Meta, len(m)+4)
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m Meta) arrow() arrow.Metadata {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic bytes
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = m[k]
	}
	return arrow.NewMetadata(keys, vals)
}

func metaOf(md arrow.Metadata) Meta {
	m := make(Meta, md.Len())
	for i, k := range md.Keys() {
		m[k] = md.Values()[i]
	}
	return m
}

// colSpec is one column of a kind: its name and type.
type colSpec struct {
	name string
	typ  arrow.DataType
}

func u8List(n int) arrow.DataType { return arrow.FixedSizeListOf(int32(n), arrow.PrimitiveTypes.Uint8) }
func f32List(n int) arrow.DataType {
	return arrow.FixedSizeListOf(int32(n), arrow.PrimitiveTypes.Float32)
}

// columns returns the columns of kind; width is H*W for images and pairs, the
// dimension for features and coords, and unused for model.
func columns(kind string, width int) []colSpec {
	idx := colSpec{ColIndex, arrow.PrimitiveTypes.Int64}
	lbl := colSpec{ColLabel, arrow.PrimitiveTypes.Uint8}
	switch kind {
	case KindImages:
		return []colSpec{idx, lbl, {ColImage, u8List(width)}}
	case KindPairs:
		return []colSpec{idx, lbl, {ColEpoch, arrow.PrimitiveTypes.Int32}, {ColView1, u8List(width)}, {ColView2, u8List(width)}}
	case KindFeatures:
		return []colSpec{idx, lbl, {ColFeature, f32List(width)}}
	case KindCoords:
		return []colSpec{idx, lbl, {ColCoord, f32List(width)}}
	case KindModel:
		return []colSpec{
			{ColName, arrow.BinaryTypes.String},
			{ColShape, arrow.ListOf(arrow.PrimitiveTypes.Int32)},
			{ColValues, arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		}
	}
	panic("contract: unknown kind " + kind)
}

func schemaOf(kind string, width int, meta Meta) *arrow.Schema {
	cols := columns(kind, width)
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ}
	}
	md := arrow.NewMetadata(nil, nil)
	if meta != nil {
		md = meta.arrow()
	}
	return arrow.NewSchema(fields, &md)
}

// ImagesSchema returns the schema of an images stream of height x width
// images of meta's channels (MetaChannels; 1 when absent). meta is copied
// into the schema metadata, with the kind, height and width set. It panics
// on a MetaChannels value that Channels refuses.
func ImagesSchema(height, width int, meta Meta) *arrow.Schema {
	return imageSchema(KindImages, height, width, meta)
}

// PairsSchema returns the schema of a pairs stream; see ImagesSchema.
func PairsSchema(height, width int, meta Meta) *arrow.Schema {
	return imageSchema(KindPairs, height, width, meta)
}

func imageSchema(kind string, height, width int, meta Meta) *arrow.Schema {
	c, err := meta.Channels()
	if err != nil {
		panic("contract: " + err.Error())
	}
	m := meta.Clone()
	m[MetaKind] = kind
	m[MetaHeight] = strconv.Itoa(height)
	m[MetaWidth] = strconv.Itoa(width)
	return schemaOf(kind, c*height*width, m)
}

// FeaturesSchema returns the schema of a features stream of dim-wide features.
func FeaturesSchema(dim int, meta Meta) *arrow.Schema {
	m := meta.Clone()
	m[MetaKind] = KindFeatures
	m[MetaDim] = strconv.Itoa(dim)
	return schemaOf(KindFeatures, dim, m)
}

// CoordsSchema returns the schema of a coords stream of n-dimensional points.
func CoordsSchema(n int, meta Meta) *arrow.Schema {
	m := meta.Clone()
	m[MetaKind] = KindCoords
	m[MetaDim] = strconv.Itoa(n)
	return schemaOf(KindCoords, n, m)
}

// ModelSchema returns the schema of a model checkpoint.
func ModelSchema(meta Meta) *arrow.Schema {
	m := meta.Clone()
	m[MetaKind] = KindModel
	return schemaOf(KindModel, 0, m)
}

// producer names the stage whose output a kind is, for error hints.
var producer = map[string]string{
	KindImages:   "fetch",
	KindPairs:    "augment",
	KindFeatures: "embed",
	KindCoords:   "reduce",
	KindModel:    "train",
}
