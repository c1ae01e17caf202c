package randaug

import "math"

// This file turns torchvision's affine ops into source-index maps: for every
// output pixel, the input pixel that nearest-neighbour sampling reads (or the
// fill pixel). torchvision computes the map per call; it depends only on the
// op, its magnitude and the image size, so an Augmenter computes it once.

// Python's math.degrees / math.radians multiply by 180/pi and pi/180 computed
// in float64 at run time; Go's constant arithmetic would round differently.
var (
	pi64     = math.Pi
	degToRad = pi64 / 180
	radToDeg = 180 / pi64
)

// inverseAffine is torchvision.transforms.functional._get_inverse_affine_matrix
// (inverted=True): the matrix mapping output coordinates to input coordinates,
// about centre (cx, cy) in the centred coordinate frame of the tensor backend.
// angle and the shears are in degrees. The float64() conversions keep Go from
// fusing multiply-adds that Python evaluates as separate roundings.
func inverseAffine(cx, cy, angle, tx, ty, scale, shearX, shearY float64) [6]float64 {
	rot := angle * degToRad
	sx := shearX * degToRad
	sy := shearY * degToRad
	a := math.Cos(rot-sy) / math.Cos(sy)
	b := float64(float64(-math.Cos(rot-sy)*math.Tan(sx))/math.Cos(sy)) - math.Sin(rot)
	c := math.Sin(rot-sy) / math.Cos(sy)
	d := float64(float64(-math.Sin(rot-sy)*math.Tan(sx))/math.Cos(sy)) + math.Cos(rot)
	m := [6]float64{d, -b, 0, -c, a, 0}
	for i := range m {
		m[i] /= scale
	}
	m[2] += float64(m[0]*(-cx-tx)) + float64(m[1]*(-cy-ty))
	m[5] += float64(m[3]*(-cx-tx)) + float64(m[4]*(-cy-ty))
	m[2] += cx
	m[5] += cy
	return m
}

// opMatrix returns the inverse affine matrix torchvision uses for an affine
// op with magnitude v (already signed) on an h x w image.
func opMatrix(op Op, v float64, h, w int) [6]float64 {
	// F.affine with center=[0, 0] converts it to the tensor backend's centred
	// frame: [0 - w/2, 0 - h/2].
	topLeftX, topLeftY := -float64(w)*0.5, -float64(h)*0.5
	switch op {
	case ShearX:
		return inverseAffine(topLeftX, topLeftY, 0, 0, 0, 1, math.Atan(v)*radToDeg, 0)
	case ShearY:
		return inverseAffine(topLeftX, topLeftY, 0, 0, 0, 1, 0, math.Atan(v)*radToDeg)
	case TranslateX:
		return inverseAffine(0, 0, 0, float64(int(v)), 0, 1, 0, 0)
	case TranslateY:
		return inverseAffine(0, 0, 0, 0, float64(int(v)), 1, 0, 0)
	case Rotate:
		// F.rotate passes -angle to the matrix ("incoherence of rotation
		// angle direction between affine and rotate").
		return inverseAffine(0, 0, -v, 0, 0, 1, 0, 0)
	}
	panic("randaug: not an affine op: " + op.String())
}

// sourceMap computes, for an h x w image, the source index of every output
// pixel under matrix m, as torchvision's tensor backend samples it: an affine
// grid in float32 (_gen_affine_grid: pixel centres -w/2+0.5 .. w/2-0.5,
// theta divided by (w/2, h/2)), then grid_sample with nearest interpolation,
// align_corners=False (x = (g+1)*w/2 - 0.5, rounded half to even) and zero
// padding. Indices outside the image become fill (h*w: the zero pixel past
// the end of a padded buffer). The result has h*w entries.
func sourceMap(m [6]float64, h, w int, fill int32) []int32 {
	var t [6]float32
	for i := range t {
		t[i] = float32(m[i])
	}
	hw, hh := float32(0.5*float64(w)), float32(0.5*float64(h))
	r00, r10, r20 := t[0]/hw, t[1]/hw, t[2]/hw
	r01, r11, r21 := t[3]/hh, t[4]/hh, t[5]/hh
	xs := linspace32(-float64(w)*0.5+0.5, float64(w)*0.5+0.5-1, w)
	ys := linspace32(-float64(h)*0.5+0.5, float64(h)*0.5+0.5-1, h)
	sw, sh := float32(w)/2, float32(h)/2
	out := make([]int32, h*w)
	for i, y := range ys {
		for j, x := range xs {
			gx := float32(float32(x*r00)+float32(y*r10)) + r20
			gy := float32(float32(x*r01)+float32(y*r11)) + r21
			ix := float32(float32(gx+1)*sw) - 0.5
			iy := float32(float32(gy+1)*sh) - 0.5
			nx := math.RoundToEven(float64(ix))
			ny := math.RoundToEven(float64(iy))
			if nx > -1 && nx < float64(w) && ny > -1 && ny < float64(h) {
				out[i*w+j] = int32(ny)*int32(w) + int32(nx)
			} else {
				out[i*w+j] = fill
			}
		}
	}
	return out
}
