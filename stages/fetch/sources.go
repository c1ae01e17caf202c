package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/decode"
	"github.com/siampipe/siampipe/internal/folder"
	"github.com/siampipe/siampipe/internal/idx"
	"github.com/siampipe/siampipe/internal/par"
	"github.com/siampipe/siampipe/internal/raster"
	"github.com/siampipe/siampipe/internal/table"
)

// dataset is a source's rows before their images are decoded.
type dataset struct {
	source  string   // siampipe.source
	classes []string // class names; nil for FashionMNIST (its names are the default) and unlabelled data
	labels  []int    // one per row; nil when unlabelled
	n       int
	// load decodes rows (increasing row numbers) on all cores, applying tf
	// in the decoding goroutines, and calls fn for each in order. It
	// returns the rows --skip-bad skipped, as "name: reason".
	load func(ctx context.Context, rows []int, tf transform, fn func(row int, im raster.Image) error) ([]string, error)
	// name names row i in messages.
	name func(i int) string
}

type transform = func(raster.Image) (raster.Image, error)

// rowError is an image that failed to decode or transform: the row's name
// and the cause.
type rowError struct {
	name string
	err  error
}

func (e *rowError) Error() string { return e.name + ": " + e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

// decodeBlock is the number of images decoded at a time by tables and IDX
// sets (par.Ordered's block).
const decodeBlock = 512

// memoryLoad is load for images already in memory as bytes (IDX) or
// encoded (tables): get returns row i's image.
func memoryLoad(get func(i int) (raster.Image, error), name func(int) string, skipBad bool) func(context.Context, []int, transform, func(int, raster.Image) error) ([]string, error) {
	return func(ctx context.Context, rows []int, tf transform, fn func(int, raster.Image) error) ([]string, error) {
		type result struct {
			im  raster.Image
			err error
		}
		var skipped []string
		err := par.Ordered(ctx, len(rows), decodeBlock, func(k int) (result, error) {
			im, err := get(rows[k])
			if err == nil {
				im, err = tf(im)
			}
			return result{im, err}, nil
		}, func(k int, r result) error {
			if r.err != nil {
				e := &rowError{name(rows[k]), r.err}
				if skipBad {
					skipped = append(skipped, e.Error())
					return nil
				}
				return e
			}
			return fn(rows[k], r.im)
		})
		return skipped, err
	}
}

// idxDataset reads an IDX images file and, if labelsPath is set, its labels.
func idxDataset(imagesPath, labelsPath string) (*dataset, error) {
	set, err := idx.LoadPairWith(func(p string) (io.ReadCloser, error) { return cli.Open(p) }, imagesPath, labelsPath)
	if err != nil {
		return nil, err
	}
	d := greyDataset(imagesPath, set)
	if d.labels != nil {
		d.classes = numberNames(d.labels)
	}
	return d, nil
}

// greyDataset is the dataset of the decoded IDX set read from path.
func greyDataset(path string, set *idx.Set) *dataset {
	size := set.Rows * set.Cols
	d := &dataset{source: path, n: set.Count}
	d.name = func(i int) string { return fmt.Sprintf("%s row %d", filepath.Base(path), i) }
	if set.Labels != nil {
		d.labels = make([]int, set.Count)
		for i, l := range set.Labels {
			d.labels[i] = int(l)
		}
	}
	get := func(i int) (raster.Image, error) {
		return raster.Image{C: 1, H: set.Rows, W: set.Cols, Pix: set.Pixels[i*size : (i+1)*size]}, nil
	}
	d.load = memoryLoad(get, d.name, false)
	return d
}

// numberNames names classes 0..max(labels) by their numbers, so that the
// labels of a set without names are not shown as FashionMNIST's.
func numberNames(labels []int) []string {
	n := 0
	for _, l := range labels {
		n = max(n, l+1)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}

// folderDataset lists an image folder (folder.Scan).
func folderDataset(dir string, maxPixels int64, skipBad bool) (*dataset, error) {
	l, err := folder.Scan(dir)
	if err != nil {
		return nil, err
	}
	d := &dataset{source: dir, n: len(l.Files), classes: l.Classes}
	if l.Classes != nil {
		d.labels = make([]int, len(l.Files))
		for i, f := range l.Files {
			d.labels[i] = f.Label
		}
	}
	d.name = func(i int) string { return filepath.Join(l.Root, filepath.FromSlash(l.Files[i].Path)) }
	d.load = func(ctx context.Context, rows []int, tf transform, fn func(int, raster.Image) error) ([]string, error) {
		sub := &folder.Listing{Root: l.Root, Classes: l.Classes, Files: make([]folder.File, len(rows))}
		for k, r := range rows {
			sub.Files[k] = l.Files[r]
		}
		st, err := folder.Load(ctx, sub, folder.Options{MaxPixels: maxPixels, SkipBad: skipBad, Transform: tf},
			func(k int, _ folder.File, im raster.Image) error { return fn(rows[k], im) })
		var skipped []string
		for _, s := range st.Skipped {
			skipped = append(skipped, s.Path+": "+s.Err.Error())
		}
		return skipped, err
	}
	return d, nil
}

// tableDataset reads the image and label columns of an Arrow IPC or
// Parquet table (table.Open) into memory, still encoded.
func tableDataset(path string, opt table.Options, maxPixels int64, skipBad bool) (*dataset, error) {
	var r *table.Reader
	var err error
	if cli.IsObject(path) {
		var f cli.ReadFile
		if f, err = cli.Open(path); err == nil {
			r, err = table.OpenFile(f, opt)
		}
	} else {
		r, err = table.Open(path, opt)
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var encoded [][]byte
	var labels []int
	for r.Next() {
		b := r.Batch()
		encoded = append(encoded, b.Encoded...)
		labels = append(labels, b.Labels...)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	d := &dataset{source: path, n: len(encoded)}
	d.name = func(i int) string { return fmt.Sprintf("%s row %d", filepath.Base(path), i) }
	if r.Labelled() {
		d.labels = labels
		if d.classes = r.Classes(); d.classes == nil {
			d.classes = numberNames(labels)
		}
	}
	get := func(i int) (raster.Image, error) { return decode.Decode(encoded[i], maxPixels) }
	d.load = memoryLoad(get, d.name, skipBad)
	return d, nil
}
