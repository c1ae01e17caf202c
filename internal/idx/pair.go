package idx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// ErrPair is returned (wrapped) by LoadPair when the images and labels
// files do not make a data set: wrong dimensions, or counts that differ.
var ErrPair = errors.New("IDX files do not make a labelled image set")

// Set is an images file and, optionally, its labels file, decoded: Count
// images of Rows x Cols bytes, row-major.
type Set struct {
	Count, Rows, Cols int
	Pixels            []byte // Count*Rows*Cols bytes
	Labels            []byte // Count bytes; nil when no labels file was given
}

// LoadPair decodes an images file (a 3-dimensional byte array, magic
// 0x00000803) and a labels file (1-dimensional, 0x00000801) of as many
// rows, gzip or plain, concurrently. labelsPath "" loads unlabelled images.
// Errors name the file.
func LoadPair(imagesPath, labelsPath string) (*Set, error) {
	return LoadPairWith(func(p string) (io.ReadCloser, error) { return os.Open(p) }, imagesPath, labelsPath)
}

// LoadPairWith is LoadPair reading the files that open opens (an object
// store's, say), one goroutine each.
func LoadPairWith(open func(path string) (io.ReadCloser, error), imagesPath, labelsPath string) (*Set, error) {
	var im, lb *Array
	var imErr, lbErr error
	var wg sync.WaitGroup
	if labelsPath != "" {
		wg.Add(1)
		go func() { defer wg.Done(); lb, lbErr = decodeFile(open, labelsPath) }()
	}
	im, imErr = decodeFile(open, imagesPath)
	wg.Wait()
	if imErr != nil {
		return nil, imErr
	}
	if lbErr != nil {
		return nil, lbErr
	}
	if len(im.Dims) != 3 {
		return nil, fmt.Errorf("%w: %s: images have %d dimensions (magic 0x%08x), expected 3 (0x00000803)", ErrPair, filepath.Base(imagesPath), len(im.Dims), 0x800|len(im.Dims))
	}
	s := &Set{Count: im.Dims[0], Rows: im.Dims[1], Cols: im.Dims[2], Pixels: im.Data}
	if s.Rows == 0 || s.Cols == 0 {
		return nil, fmt.Errorf("%w: %s: image size %dx%d is empty", ErrPair, filepath.Base(imagesPath), s.Rows, s.Cols)
	}
	if lb == nil {
		return s, nil
	}
	if len(lb.Dims) != 1 {
		return nil, fmt.Errorf("%w: %s: labels have %d dimensions (magic 0x%08x), expected 1 (0x00000801)", ErrPair, filepath.Base(labelsPath), len(lb.Dims), 0x800|len(lb.Dims))
	}
	if lb.Dims[0] != s.Count {
		return nil, fmt.Errorf("%w: %d images but %d labels (%s and %s do not belong together)", ErrPair, s.Count, lb.Dims[0], filepath.Base(imagesPath), filepath.Base(labelsPath))
	}
	s.Labels = lb.Data
	return s, nil
}

func decodeFile(open func(string) (io.ReadCloser, error), p string) (*Array, error) {
	f, err := open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
	}
	return a, nil
}
