// Package raster is the in-memory image that siampipe's image sources, its
// resizer and its stages share: 8-bit samples in channel-major (CHW) order,
// the layout of torchvision's uint8 tensors and of the contract's image
// column.
package raster

import "fmt"

// MaxChannels is the largest channel count an image may have: grey (1) or
// RGB (3) are what the stages take; 4 leaves room for a decoder's RGBA.
const MaxChannels = 4

// Image is one image: C planes of H rows of W samples, plane after plane.
type Image struct {
	C, H, W int
	Pix     []uint8 // len C*H*W
}

// New returns a zeroed image of c channels of h x w samples.
func New(c, h, w int) Image {
	return Image{C: c, H: h, W: w, Pix: make([]uint8, c*h*w)}
}

// Plane returns channel c's H*W samples (aliasing Pix).
func (im Image) Plane(c int) []uint8 {
	n := im.H * im.W
	return im.Pix[c*n : (c+1)*n]
}

// Shape names the image's shape as "CxHxW", the form errors use.
func (im Image) Shape() string { return Shape(im.C, im.H, im.W) }

// Shape formats a channels, height, width triple as "CxHxW".
func Shape(c, h, w int) string { return fmt.Sprintf("%dx%dx%d", c, h, w) }

// Check returns an error when the fields disagree with len(Pix) or a
// dimension is not positive.
func (im Image) Check() error {
	if im.C <= 0 || im.C > MaxChannels || im.H <= 0 || im.W <= 0 {
		return fmt.Errorf("raster: image shape %s is not usable", im.Shape())
	}
	if len(im.Pix) != im.C*im.H*im.W {
		return fmt.Errorf("raster: image %s holds %d samples, want %d", im.Shape(), len(im.Pix), im.C*im.H*im.W)
	}
	return nil
}
