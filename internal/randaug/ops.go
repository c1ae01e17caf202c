// Package randaug implements RandAugment (Cubuk et al., 2019) on uint8
// images of 1 (grey) or 3 (RGB) channels stored channel after channel (CHW),
// faithful to torchvision 0.14's transforms.RandAugment applied to a CxHxW
// uint8 tensor: the same 14 ops, magnitude tables, sign flips, rounding,
// nearest interpolation and fill 0. New makes an Augmenter for grey images,
// NewC for either.
//
// An Augmenter precomputes everything that depends only on the image size and
// the settings (per-op lookup tables, the source pixel of every output pixel
// for each affine op and sign), so that augmenting an image allocates nothing
// and costs a few table walks per op. It is safe for concurrent use; each
// goroutine brings its own Scratch and Rand.
//
// The package also has the steps SimSiam's recipe puts before RandAugment,
// faithful to torchvision on the same tensors: CropParams and Resizer for
// RandomResizedCrop, and HFlip.
//
// Where it knowingly differs: AutoContrast on 1 channel keeps a scale that
// is off by one from torchvision's on some values (kept so that grey views
// stay byte-identical to earlier versions; 3 channels use torchvision's);
// Contrast's mean is exact, which is torch's only up to 65793 pixels, above
// which torch's own float32 sum depends on its thread count; and the
// 3-channel resize reproduces torch's AVX2 kernels (fused multiply-adds),
// the ones it runs on x86-64 CPUs with AVX2.
package randaug

import (
	"fmt"
	"strings"
)

// Op is one RandAugment operation.
type Op uint8

// The 14 ops of torchvision's RandAugment, in torchvision's order.
const (
	Identity Op = iota
	ShearX
	ShearY
	TranslateX
	TranslateY
	Rotate
	Brightness
	Color
	Contrast
	Sharpness
	Posterize
	Solarize
	AutoContrast
	Equalize
	numOps
)

var opNames = [numOps]string{
	"Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
	"Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize",
	"AutoContrast", "Equalize",
}

// AllOps returns the 14 ops in torchvision's order (a fresh slice).
func AllOps() []Op {
	ops := make([]Op, numOps)
	for i := range ops {
		ops[i] = Op(i)
	}
	return ops
}

// String returns torchvision's name of the op ("ShearX", ...).
func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Signed reports whether RandAugment flips the op's magnitude to negative
// with probability 1/2.
func (o Op) Signed() bool {
	switch o {
	case ShearX, ShearY, TranslateX, TranslateY, Rotate, Brightness, Color, Contrast, Sharpness:
		return true
	}
	return false
}

func (o Op) affine() bool { return o >= ShearX && o <= Rotate }

// ParseOp returns the op named name (torchvision's spelling, case-insensitive).
func ParseOp(name string) (Op, error) {
	for i, n := range opNames {
		if strings.EqualFold(n, strings.TrimSpace(name)) {
			return Op(i), nil
		}
	}
	return 0, fmt.Errorf("unknown op %q (ops: %s)", name, strings.Join(opNames[:], ","))
}

// ParseOps parses a comma-separated list of op names, e.g.
// "Solarize,Posterize". Repeated names are kept (they weight the draw).
func ParseOps(list string) ([]Op, error) {
	var ops []Op
	for _, f := range strings.Split(list, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		op, err := ParseOp(f)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("empty op list %q (give names such as Solarize,Posterize)", list)
	}
	return ops, nil
}

// FormatOps is the inverse of ParseOps.
func FormatOps(ops []Op) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.String()
	}
	return strings.Join(s, ",")
}

// Reference names the implementation whose behaviour randaug reproduces
// bit-exactly (checked by the golden tests).
const Reference = "torchvision 0.14.1 transforms.RandAugment"
