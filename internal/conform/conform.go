// Package conform brings decoded images to the one shape a stream holds:
// the channels and size asked for (converting as PIL's convert does and
// resizing as torchvision's antialiased bilinear Resize does), or else those
// of the first image, refusing an image that differs.
package conform

import (
	"fmt"
	"sync"

	"github.com/siampipe/siampipe/internal/raster"
	"github.com/siampipe/siampipe/internal/resize"
)

// Spec is the shape asked for; a zero field means "as the first image".
type Spec struct {
	Channels      int // 1 or 3; 0 keeps the first image's
	Height, Width int // both set, or both 0 (keep the first image's size)
}

// ShapeError is returned by Apply for an image whose channels or size
// differ from the first image's when Spec does not ask for a conversion.
type ShapeError struct {
	What      string // "channels" or "size"
	Got, Want string // shapes as raster.Shape writes them
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("image is %s, the first image is %s (its %s differ)", e.Got, e.Want, e.What)
}

// Conformer applies a Spec. It is safe for concurrent use.
type Conformer struct {
	c, h, w int // the stream's shape
	convert bool
	resize  bool
	mu      sync.Mutex
	pools   map[[2]int]*sync.Pool // input size -> *resize.Resizer
}

// New returns the Conformer of spec whose unset fields take the shape of
// first, the first image of the stream.
func New(spec Spec, first raster.Image) (*Conformer, error) {
	if err := first.Check(); err != nil {
		return nil, err
	}
	k, err := Asked(spec)
	if err != nil {
		return nil, err
	}
	if k.c == 0 {
		k.c = first.C
		if k.c != 1 && k.c != 3 {
			k.c, k.convert = 3, true // RGBA and the like: their colour
		}
	}
	if k.h == 0 {
		k.h, k.w = first.H, first.W
	}
	return k, nil
}

// Asked returns the Conformer that converts and resizes what spec asks and
// lets every other channel count or size through: the part of the work that
// needs no first image, which can run before the images are in order.
func Asked(spec Spec) (*Conformer, error) {
	if spec.Channels != 0 && spec.Channels != 1 && spec.Channels != 3 {
		return nil, fmt.Errorf("conform: channels %d: want 1 or 3", spec.Channels)
	}
	if (spec.Height == 0) != (spec.Width == 0) || spec.Height < 0 || spec.Width < 0 || spec.Height > resize.MaxSize || spec.Width > resize.MaxSize {
		return nil, fmt.Errorf("conform: size %dx%d: want both sides positive (or both 0)", spec.Height, spec.Width)
	}
	k := &Conformer{pools: map[[2]int]*sync.Pool{}}
	if spec.Channels != 0 {
		k.c, k.convert = spec.Channels, true
	}
	if spec.Height != 0 {
		k.h, k.w, k.resize = spec.Height, spec.Width, true
	}
	return k, nil
}

// Shape returns the channels, height and width of every image Apply
// returns (0 for what an Asked Conformer lets through).
func (k *Conformer) Shape() (c, h, w int) { return k.c, k.h, k.w }

// Apply returns im in the stream's shape, or a *ShapeError.
func (k *Conformer) Apply(im raster.Image) (raster.Image, error) {
	if err := im.Check(); err != nil {
		return raster.Image{}, err
	}
	if k.c != 0 && im.C != k.c {
		if !k.convert && !(im.C == 4 && k.c == 3) {
			return raster.Image{}, &ShapeError{What: "channels", Got: im.Shape(), Want: raster.Shape(k.c, k.h, k.w)}
		}
		var err error
		if im, err = raster.Convert(im, k.c); err != nil {
			return raster.Image{}, err
		}
	}
	if k.h == 0 || im.H == k.h && im.W == k.w {
		return im, nil
	}
	if !k.resize {
		return raster.Image{}, &ShapeError{What: "size", Got: im.Shape(), Want: raster.Shape(k.c, k.h, k.w)}
	}
	p := k.pool(im.H, im.W)
	r := p.Get().(*resize.Resizer)
	defer p.Put(r)
	return r.Resize(im)
}

// pool returns the pool of Resizers from h x w to the stream's size.
func (k *Conformer) pool(h, w int) *sync.Pool {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := [2]int{h, w}
	p, ok := k.pools[key]
	if !ok {
		proto, err := resize.New(h, w, k.h, k.w)
		p = &sync.Pool{New: func() any {
			if err != nil {
				panic(err) // sizes are checked by New and raster.Image.Check
			}
			return proto.Clone()
		}}
		k.pools[key] = p
	}
	return p
}
