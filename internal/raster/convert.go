package raster

import "fmt"

// ToGrey returns im with one channel, computed exactly as PIL's
// Image.convert("L"): the ITU-R 601-2 luma
//
//	L = (19595*R + 38470*G + 7471*B + 32768) >> 16
//
// in 16-bit fixed point (the weights 0.299, 0.587 and 0.114 scaled by 65536,
// summing to 65536, so a grey pixel keeps its level; the 32768 rounds the
// fraction half up). A 4-channel image is taken as RGBA and its alpha is
// ignored, as PIL does. An image that is already grey is returned as is,
// sharing its Pix.
//
// ToGrey panics if im.C is not 1, 3 or 4 or Pix is shorter than C*H*W.
func ToGrey(im Image) Image {
	switch im.C {
	case 1:
		return im
	case 3, 4:
	default:
		panic(fmt.Sprintf("raster: ToGrey of a %d-channel image", im.C))
	}
	out := New(1, im.H, im.W)
	n := im.H * im.W
	r, g, b := im.Pix[:n], im.Pix[n:2*n], im.Pix[2*n:3*n]
	l := out.Pix
	for i := range l {
		l[i] = uint8((uint32(r[i])*19595 + uint32(g[i])*38470 + uint32(b[i])*7471 + 0x8000) >> 16)
	}
	return out
}

// ToRGB returns im with three channels, as PIL's Image.convert("RGB"): a grey
// image's plane is repeated three times; a 4-channel image is taken as RGBA
// and its alpha plane dropped (not composited). An image that is already RGB
// is returned as is, sharing its Pix.
//
// ToRGB panics if im.C is not 1, 3 or 4 or Pix is shorter than C*H*W.
func ToRGB(im Image) Image {
	n := im.H * im.W
	switch im.C {
	case 1:
		out := New(3, im.H, im.W)
		src := im.Pix[:n]
		for c := 0; c < 3; c++ {
			copy(out.Pix[c*n:(c+1)*n], src)
		}
		return out
	case 3:
		return im
	case 4:
		out := New(3, im.H, im.W)
		copy(out.Pix, im.Pix[:3*n])
		return out
	}
	panic(fmt.Sprintf("raster: ToRGB of a %d-channel image", im.C))
}

// Convert returns im with c channels: ToGrey for c == 1, ToRGB for c == 3.
// An image that already has c channels is returned as is. Convert returns an
// error, not a panic, when c is neither 1 nor 3, when im fails Check, or when
// im has 2 channels (no colour model the stages know).
func Convert(im Image, c int) (Image, error) {
	if c != 1 && c != 3 {
		return Image{}, fmt.Errorf("raster: convert to %d channels: want 1 (grey) or 3 (RGB)", c)
	}
	if err := im.Check(); err != nil {
		return Image{}, err
	}
	if im.C == 2 {
		return Image{}, fmt.Errorf("raster: convert %s to %d channels: a 2-channel image is neither grey, RGB nor RGBA", im.Shape(), c)
	}
	if c == 1 {
		return ToGrey(im), nil
	}
	return ToRGB(im), nil
}
