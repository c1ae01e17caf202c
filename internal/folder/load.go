package folder

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/siampipe/siampipe/internal/decode"
	"github.com/siampipe/siampipe/internal/raster"
)

// Options configures Load. The zero value decodes with decode's default
// pixel limit, stops at the first bad file and transforms nothing.
type Options struct {
	// MaxPixels is the pixel limit of each image (see decode.Decode);
	// <= 0 means decode.DefaultMaxPixels.
	MaxPixels int64
	// SkipBad makes Load skip a file that cannot be read, decoded or
	// transformed, recording it in Stats.Skipped, instead of failing.
	SkipBad bool
	// Transform, if not nil, runs on each decoded image in the decoding
	// goroutines (concurrently, in no particular order); fn gets its
	// result. An error counts as the file's failure.
	Transform func(raster.Image) (raster.Image, error)
	// Progress, if not nil, is called after each file, with how many of
	// the total are done (delivered or skipped), on Load's goroutine.
	Progress func(done, total int)
}

// Stats says what Load did.
type Stats struct {
	Decoded int    // images handed to fn
	Skipped []Skip // files skipped (SkipBad), in listing order
}

// Skip is a file Load skipped and why.
type Skip struct {
	Path string // Root joined with the file's path, as the error would name it
	Err  error
}

// Load decodes the files of l on runtime.GOMAXPROCS(0) goroutines and calls
// fn for each decoded image, one call at a time, in the order of l.Files
// (i is the file's index there), so what fn sees does not depend on the
// number of cores or on scheduling. At most a few images per goroutine are
// decoded ahead of fn, so memory does not grow with the folder.
//
// A file that fails (unreadable, not an image, over the pixel limit,
// truncated, or Transform's error) is skipped and recorded with
// Options.SkipBad; without it Load stops there and returns an error that
// names the file and wraps the cause (decode.ErrFormat, ...). fn has then
// been called for exactly the files before it. An error from fn stops Load
// and is returned as it is. Cancelling ctx stops the decoding goroutines
// after their current file, and Load returns ctx.Err(). Load returns only
// once its goroutines have finished.
func Load(ctx context.Context, l *Listing, opt Options, fn func(i int, f File, im raster.Image) error) (Stats, error) {
	var st Stats
	n := len(l.Files)
	if n == 0 {
		return st, nil
	}
	// File 0 first, on this goroutine: its size sets how many files make a
	// chunk, the unit the goroutines claim and hand over.
	first, ferr := loadFile(l.path(0), opt)
	size := chunkFiles(len(first.Pix))
	chunks := (n-1+size-1)/size + 1 // chunk 0 is file 0
	workers := min(runtime.GOMAXPROCS(0), chunks-1)
	window := windowSize(workers)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()

	// Chunk c (files bounds(c)) goes to slot c%window. A goroutine takes
	// one of window tokens, then claims the next chunk, decodes its files
	// and sends them to their slot; the loop below gives the token back
	// once it has taken the chunk. So at most window chunks are claimed and
	// not yet taken, no two of them share a slot, and what fn sees does not
	// depend on which goroutine decoded what or how fast.
	type result struct {
		ims  []raster.Image
		errs []error
	}
	bounds := func(c int) (lo, hi int) {
		if c == 0 {
			return 0, 1
		}
		lo = 1 + (c-1)*size
		return lo, min(lo+size, n)
	}
	slots := make([]chan result, window)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	tokens := make(chan struct{}, window)
	var next atomic.Int64
	next.Store(1)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				c := int(next.Add(1) - 1)
				if c >= chunks || ctx.Err() != nil {
					return
				}
				lo, hi := bounds(c)
				r := result{ims: make([]raster.Image, hi-lo), errs: make([]error, hi-lo)}
				for i := lo; i < hi && ctx.Err() == nil; i++ {
					r.ims[i-lo], r.errs[i-lo] = loadFile(l.path(i), opt)
				}
				select {
				case slots[c%window] <- r:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	for c := range chunks {
		var r result
		if err := ctx.Err(); err != nil {
			return st, err // before the select, which might pick a ready result
		}
		if c == 0 {
			r = result{ims: []raster.Image{first}, errs: []error{ferr}}
		} else {
			select {
			case r = <-slots[c%window]:
			case <-ctx.Done():
				return st, ctx.Err()
			}
			<-tokens
		}
		lo, _ := bounds(c)
		for k, im := range r.ims {
			i := lo + k
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if err := r.errs[k]; err != nil {
				if !opt.SkipBad {
					return st, fmt.Errorf("%s: %w", l.path(i), err)
				}
				st.Skipped = append(st.Skipped, Skip{Path: l.path(i), Err: err})
			} else {
				if err := fn(i, l.Files[i], im); err != nil {
					return st, err
				}
				st.Decoded++
			}
			if opt.Progress != nil {
				opt.Progress(i+1, n)
			}
		}
	}
	return st, nil
}

// chunkBytes is about the decoded bytes of a chunk of files: small images
// (FashionMNIST's 784 bytes) go 64 to a chunk, so that handing results
// between goroutines costs little per image; large ones one at a time, so
// that memory stays bounded.
const chunkBytes = 1 << 20

// chunkFiles is the files in a chunk when an image has imageBytes bytes.
func chunkFiles(imageBytes int) int {
	return min(64, max(1, chunkBytes/max(imageBytes, 1)))
}

// windowSize is how many chunks Load lets wait for fn at once: enough that
// every goroutine has the next chunk while fn is busy or a neighbour's
// chunk is slow.
func windowSize(workers int) int { return 2 * max(workers, 1) }

// path returns file i's path in the file system.
func (l *Listing) path(i int) string {
	return filepath.Join(l.Root, filepath.FromSlash(l.Files[i].Path))
}

// loadFile reads, decodes and transforms one file.
func loadFile(name string, opt Options) (raster.Image, error) {
	im, err := decode.DecodeFile(name, opt.MaxPixels)
	if err != nil {
		return raster.Image{}, err
	}
	if opt.Transform != nil {
		if im, err = opt.Transform(im); err != nil {
			return raster.Image{}, fmt.Errorf("transform: %w", err)
		}
		if err := im.Check(); err != nil {
			return raster.Image{}, fmt.Errorf("transform: %w", err)
		}
	}
	return im, nil
}
