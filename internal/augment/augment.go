// Package augment turns a set of images into a stream of RandAugment pairs,
// epoch after epoch, each epoch in a fresh seeded shuffle.
//
// Each view is made as SimSiam and SimCLR make theirs: optionally a
// RandomResizedCrop back to the image size and a horizontal flip with
// probability 1/2, then RandAugment, all drawing from the view's own stream.
// Images are grey or RGB (Images.Channels); a view has the image's shape, and
// its draws do not depend on the channel count.
//
// Every view's random stream is derived from (seed, epoch, image index, view),
// and each epoch's order from (seed, epoch), so the output does not depend on
// how many goroutines compute it, nor on how it is sharded: shard I of N
// (Config.Shard) is the rows [I*n/N, (I+1)*n/N) of each epoch's order of the
// n images, with the views of the whole's rows, so the shards' epochs
// interleaved are the whole's pairs. Workers augment chunks of the shuffled
// order in parallel; the chunks are handed to the Sink in order, and only a
// few chunks per worker exist at any time, so memory stays bounded however
// many epochs are asked for.
package augment

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/siampipe/siampipe/internal/randaug"
	"github.com/siampipe/siampipe/internal/shard"
)

// Images is a whole set of height x width images in memory, grey or RGB.
type Images struct {
	// Channels is 1 (or 0) for grey images, 3 for RGB ones.
	Channels      int
	Height, Width int
	Index         []int64 // the images' index column (identifies each image)
	Label         []uint8
	// Pixels holds len(Index) images of Channels*Height*Width bytes, back
	// to back, each channel after channel (CHW: all of R, then G, then B).
	Pixels []uint8
}

// Len returns the number of images.
func (im *Images) Len() int { return len(im.Index) }

// channels returns the channel count, 0 meaning 1.
func (im *Images) channels() int { return max(im.Channels, 1) }

// size returns the bytes of one image (and of each of its views).
func (im *Images) size() int { return im.channels() * im.Height * im.Width }

// Check reports whether the images are a consistent, non-empty set.
func (im *Images) Check() error {
	switch n := len(im.Index); {
	case im.Channels != 0 && im.Channels != 1 && im.Channels != 3:
		return fmt.Errorf("%d channels: want 1 (grey) or 3 (RGB)", im.Channels)
	case im.Height <= 0 || im.Width <= 0:
		return fmt.Errorf("image size %dx%d is not positive", im.Height, im.Width)
	case n == 0:
		return ErrNoImages
	case len(im.Label) != n:
		return fmt.Errorf("%d labels for %d images", len(im.Label), n)
	case len(im.Pixels) != n*im.size():
		if im.channels() == 1 {
			return fmt.Errorf("%d pixels for %d images of %dx%d: images of mixed sizes?", len(im.Pixels), n, im.Height, im.Width)
		}
		return fmt.Errorf("%d bytes for %d images of %dx%dx%d: images of mixed sizes?", len(im.Pixels), n, im.channels(), im.Height, im.Width)
	}
	return nil
}

// ErrNoImages is returned by Run (and Images.Check) for an empty image set.
var ErrNoImages = errors.New("no images")

// Sink receives the pairs, in order: epoch 0 in its shuffled order, then
// epoch 1, and so on. Each view is an image of the set's shape
// (Channels*Height*Width bytes, CHW). The view slices are only valid during
// the call.
// contract.PairsWriter is a Sink.
type Sink interface {
	Append(index int64, label uint8, epoch int32, view1, view2 []uint8) error
}

// Config holds the settings of Run. The zero value means 1 epoch, seed 0,
// one worker per GOMAXPROCS, chunks of 256 images, no crop, no flip,
// randaug's defaults, and the whole of each epoch (no shard).
type Config struct {
	Epochs    int    // epochs to emit (0: 1)
	Seed      uint64 // seeds the shuffles and the views
	Workers   int    // goroutines augmenting (0: runtime.GOMAXPROCS(0))
	ChunkRows int    // images per unit of work (0: 256)

	// CropScale, if not 0, starts every view with torchvision's
	// RandomResizedCrop(size=(H, W), scale=(CropScale, 1), ratio=(3/4, 4/3))
	// on the tensor (bilinear, no antialiasing): see randaug.CropParams and
	// randaug.Resizer. It must be 0 (no crop) or in (0, 1].
	CropScale float64
	// Flip mirrors each view left to right with probability 1/2, after the
	// crop (RandomHorizontalFlip).
	Flip bool
	// RandAug is applied last, to the cropped and flipped view.
	RandAug randaug.Config

	// Shard, if not the zero Shard (the whole), emits only its rows of each
	// epoch's order: shard.Shard.Range of the number of images.
	Shard shard.Shard

	// Progress, if not nil, is called from Run's goroutine after each chunk
	// of pairs has gone to the Sink, with the number of pairs in the chunk.
	Progress func(pairs int)
}

func (c Config) defaults() Config {
	if c.Epochs == 0 {
		c.Epochs = 1
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.ChunkRows <= 0 {
		c.ChunkRows = 256
	}
	return c
}

// Random stream keys, so that the shuffle and the views never share a stream.
const (
	keyShuffle = 0x5368756666 // "Shuff"
	keyView    = 0x56696577   // "View"
)

// Order returns epoch's order of n images: a Fisher-Yates shuffle of 0..n-1
// seeded by (seed, epoch).
func Order(n int, seed uint64, epoch int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	r := randaug.NewRand(keyShuffle, seed, uint64(epoch))
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// ViewRand returns the random stream of view (0 or 1) of the image with the
// given index in epoch.
func ViewRand(seed uint64, epoch int, index int64, view int) randaug.Rand {
	return randaug.NewRand(keyView, seed, uint64(epoch), uint64(index), uint64(view))
}

// chunk is one unit of work: rows of one epoch's order and their views.
type chunk struct {
	seq    int
	epoch  int
	rows   []int32 // positions into Images, a sub-slice of the epoch's order
	v1, v2 []uint8 // len(rows)*C*H*W each
}

// Run emits cfg.Epochs epochs of pairs of images to sink and returns the
// first error from the sink, from the settings, or ctx's error if it is
// cancelled. On error it stops the workers before returning.
func Run(ctx context.Context, im *Images, cfg Config, sink Sink) error {
	if err := im.Check(); err != nil {
		return err
	}
	cfg = cfg.defaults()
	if cfg.Epochs < 0 || cfg.Epochs > 1<<31-1 {
		return fmt.Errorf("epochs %d: want 1..%d", cfg.Epochs, 1<<31-1)
	}
	if im.Len() > 1<<31-1 {
		return fmt.Errorf("%d images: at most %d", im.Len(), 1<<31-1)
	}
	if s := cfg.Shard; s.N < 0 || !s.Whole() && (s.I < 0 || s.I >= s.N) {
		return fmt.Errorf("shard %v: want I/N with 0 <= I < N", s)
	}
	v, err := newViewerC(im.channels(), im.Height, im.Width, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	hw := im.size()
	nbuf := 2*cfg.Workers + 2
	free := make(chan *chunk, nbuf)
	for i := 0; i < nbuf; i++ {
		free <- &chunk{v1: make([]uint8, cfg.ChunkRows*hw), v2: make([]uint8, cfg.ChunkRows*hw)}
	}
	todo := make(chan *chunk, nbuf)
	done := make(chan *chunk, nbuf)

	// Producer: walk the epochs' orders (the shard's part of each) chunk by
	// chunk, one free buffer each.
	first, end := cfg.Shard.Range(int64(im.Len()))
	go func() {
		defer close(todo)
		seq := 0
		for e := 0; e < cfg.Epochs; e++ {
			order := Order(im.Len(), cfg.Seed, e)[first:end]
			for lo := 0; lo < len(order); lo += cfg.ChunkRows {
				var c *chunk
				select {
				case c = <-free:
				case <-ctx.Done():
					return
				}
				c.seq, c.epoch, c.rows = seq, e, order[lo:min(lo+cfg.ChunkRows, len(order))]
				seq++
				todo <- c // never blocks: at most nbuf chunks exist
			}
		}
	}()

	// Workers.
	workersDone := make(chan struct{})
	for w := 0; w < cfg.Workers; w++ {
		go func() {
			defer func() { workersDone <- struct{}{} }()
			s := v.aug.NewScratch()
			for c := range todo {
				if ctx.Err() == nil {
					augmentChunk(v, s, im, cfg.Seed, c)
				}
				done <- c // never blocks: at most nbuf chunks exist
			}
		}()
	}
	go func() {
		for w := 0; w < cfg.Workers; w++ {
			<-workersDone
		}
		close(done)
	}()

	// Writer: this goroutine, in sequence order.
	err = write(ctx, im, sink, done, free, nbuf, cfg.Progress)
	cancel()
	for range done { // let the workers finish and exit
	}
	return err
}

// viewer makes one view of an image: crop, flip, RandAugment. It is
// read-only and shared by the workers.
type viewer struct {
	c, h, w   int
	cropScale float64          // 0: no crop
	resize    *randaug.Resizer // nil without crop
	flip      bool
	aug       *randaug.Augmenter
}

// newViewer returns the viewer of single-channel h x w images.
func newViewer(h, w int, cfg Config) (*viewer, error) { return newViewerC(1, h, w, cfg) }

// newViewerC returns the viewer of c x h x w images (CHW).
func newViewerC(c, h, w int, cfg Config) (*viewer, error) {
	v := &viewer{c: c, h: h, w: w, cropScale: cfg.CropScale, flip: cfg.Flip}
	if s := cfg.CropScale; s != 0 {
		if !(s > 0 && s <= 1) {
			return nil, fmt.Errorf("crop scale %v: want 0 (no crop) or 0 < scale <= 1", s)
		}
		z, err := randaug.NewResizerC(c, h, w)
		if err != nil {
			return nil, err
		}
		v.resize = z
	}
	aug, err := randaug.NewC(c, h, w, cfg.RandAug)
	if err != nil {
		return nil, err
	}
	v.aug = aug
	return v, nil
}

// view writes one view of src to dst (c*h*w bytes each, not overlapping),
// drawing from r in this order: the crop box (CropParams), the flip
// (Float64 < 1/2), then RandAugment's draws; every channel gets the same box
// and flip. Without crop and flip it draws exactly what RandAugment alone
// does. The draws do not depend on the channel count.
func (v *viewer) view(dst, src []uint8, r *randaug.Rand, s *randaug.Scratch) {
	if v.resize != nil {
		top, left, ch, cw := randaug.CropParams(r, v.h, v.w, v.cropScale)
		v.resize.ResizedCrop(dst, src, top, left, ch, cw, s)
		src = dst
	}
	if v.flip && r.Float64() < 0.5 {
		randaug.HFlip(dst, src, v.c*v.h, v.w) // c*h rows of w pixels
		src = dst
	}
	v.aug.Augment(dst, src, r, s)
}

func augmentChunk(v *viewer, s *randaug.Scratch, im *Images, seed uint64, c *chunk) {
	hw := im.size()
	for k, pos := range c.rows {
		src := im.Pixels[int(pos)*hw : int(pos+1)*hw]
		idx := im.Index[pos]
		r := ViewRand(seed, c.epoch, idx, 0)
		v.view(c.v1[k*hw:(k+1)*hw], src, &r, s)
		r = ViewRand(seed, c.epoch, idx, 1)
		v.view(c.v2[k*hw:(k+1)*hw], src, &r, s)
	}
}

func write(ctx context.Context, im *Images, sink Sink, done <-chan *chunk, free chan<- *chunk, nbuf int, progress func(int)) error {
	hw := im.size()
	pending := make([]*chunk, nbuf) // by seq % nbuf: at most nbuf chunks are in flight
	next := 0
	for c := range done {
		if err := ctx.Err(); err != nil {
			return err
		}
		pending[c.seq%nbuf] = c
		for pending[next%nbuf] != nil && pending[next%nbuf].seq == next {
			c := pending[next%nbuf]
			pending[next%nbuf] = nil
			for k, pos := range c.rows {
				err := sink.Append(im.Index[pos], im.Label[pos], int32(c.epoch),
					c.v1[k*hw:(k+1)*hw], c.v2[k*hw:(k+1)*hw])
				if err != nil {
					return err
				}
			}
			if progress != nil {
				progress(len(c.rows))
			}
			next++
			free <- c
		}
	}
	return ctx.Err()
}
