package randaug

import "math"

// This file reproduces the magnitude tables of torchvision's
// RandAugment._augmentation_space, which torch computes in float32.

// linspace32 returns torch.linspace(start, end, steps) as torch 1.13 computes
// it on the CPU in float32 (its AVX2 kernel, RangeFactoriesKernel.cpp):
// step = (end-start)/(steps-1); points below steps/2 are counted up from start
// and the others down from end, each as one fused multiply-add (GCC contracts
// the C++ expressions); whole blocks of 16 points are computed as two vectors
// of 8, lane 0 as above and lanes k = 1..7 as lane0 + k*step, rounded twice
// (Vectorized<float>::arange). Checked against torch for 2..64 steps.
func linspace32(start, end float64, steps int) []float32 {
	out := make([]float32, steps)
	s, e := float32(start), float32(end)
	if steps == 1 {
		out[0] = s
		return out
	}
	step := (e - s) / float32(steps-1)
	half := steps / 2
	point := func(i int) float32 {
		if i < half {
			return fma32(step, float32(i), s)
		}
		return fma32(-step, float32(steps-i-1), e)
	}
	i := 0
	for ; i+16 <= steps; i += 16 {
		for _, b := range [2]int{i, i + 8} {
			base := point(b)
			out[b] = base
			for k := 1; k < 8; k++ {
				out[b+k] = base + float32(float32(k)*step)
			}
		}
	}
	for ; i < steps; i++ {
		out[i] = point(i)
	}
	return out
}

// fma32 returns a*b+c rounded once to float32, as a hardware fused
// multiply-add does. a*b is exact in float64; the sum is rounded to float64
// and then to float32, which is corrected where the float64 sum landed exactly
// on a float32 rounding tie it was not on.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	cc := float64(c)
	s := p + cc
	bb := s - p
	err := (p - (s - bb)) + (cc - bb) // s + err == p + cc exactly (TwoSum)
	r := float32(s)
	if err == 0 || float64(r) == s {
		return r
	}
	toward := float32(math.Inf(1))
	if float64(r) > s {
		toward = float32(math.Inf(-1))
	}
	other := math.Nextafter32(r, toward)
	if (float64(r)+float64(other))/2 != s {
		return r // not a tie: rounding s once more is right
	}
	if err > 0 {
		return float32(math.Nextafter(s, math.Inf(1)))
	}
	return float32(math.Nextafter(s, math.Inf(-1)))
}

// posterizeBits returns RandAugment's Posterize table for bins bins:
// 8 - round(i / ((bins-1)/4)) in float32, rounding half to even.
func posterizeBits(bins int) []int {
	out := make([]int, bins)
	d := float32(float64(bins-1) / 4)
	for i := range out {
		out[i] = 8 - int(math.RoundToEven(float64(float32(i)/d)))
	}
	return out
}

// magnitude returns the value RandAugment.forward passes to the op for
// magnitude bin m of bins: the float32 table entry widened to float64, negated
// when negative and the op is signed. Ops without a magnitude get 0.
func magnitude(op Op, bins, m, height, width int, negative bool) float64 {
	var v float64
	switch op {
	case ShearX, ShearY:
		v = float64(linspace32(0, 0.3, bins)[m])
	case TranslateX:
		v = float64(linspace32(0, 150.0/331.0*float64(width), bins)[m])
	case TranslateY:
		v = float64(linspace32(0, 150.0/331.0*float64(height), bins)[m])
	case Rotate:
		v = float64(linspace32(0, 30, bins)[m])
	case Brightness, Color, Contrast, Sharpness:
		v = float64(linspace32(0, 0.9, bins)[m])
	case Posterize:
		v = float64(posterizeBits(bins)[m])
	case Solarize:
		v = float64(linspace32(255, 0, bins)[m])
	}
	if negative && op.Signed() {
		v = -v
	}
	return v
}
