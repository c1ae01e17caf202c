package folder

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"

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
	workers := min(runtime.GOMAXPROCS(0), n)
	window := windowSize(workers)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()

	// File i's result goes to slot i%window. The feeder hands out file i
	// only after taking one of window tokens, and fn's loop returns the
	// token after taking file i's result, so at most window files are
	// between the two and no two of them share a slot.
	type result struct {
		im  raster.Image
		err error
	}
	slots := make([]chan result, window)
	for i := range slots {
		slots[i] = make(chan result, 1)
	}
	tokens := make(chan struct{}, window)
	jobs := make(chan int)

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := 0; i < n; i++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if ctx.Err() != nil {
					continue // drain until the feeder stops
				}
				im, err := loadFile(l.path(i), opt)
				slots[i%window] <- result{im, err}
			}
		}()
	}

	for i, f := range l.Files {
		if err := ctx.Err(); err != nil {
			return st, err // before the select, which might pick a ready result
		}
		var r result
		select {
		case r = <-slots[i%window]:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		if r.err != nil {
			if !opt.SkipBad {
				return st, fmt.Errorf("%s: %w", l.path(i), r.err)
			}
			st.Skipped = append(st.Skipped, Skip{Path: l.path(i), Err: r.err})
		} else {
			if err := fn(i, f, r.im); err != nil {
				return st, err
			}
			st.Decoded++
		}
		if opt.Progress != nil {
			opt.Progress(i+1, n)
		}
		<-tokens
	}
	return st, nil
}

// windowSize is how many files Load lets be read, decoded or waiting for
// fn at once: enough that every goroutine has the next file while fn is
// busy or a neighbour's image is slow.
func windowSize(workers int) int { return 4 * workers }

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
