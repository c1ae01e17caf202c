package neighbors

// dot returns the inner product of x and y (len(y) >= len(x)).
func dot(x, y []float32) float32 {
	if useAVX2() && len(x) >= 8 {
		return dotAVX2(x, y[:len(x)])
	}
	return dotGeneric(x, y)
}

// sqDist returns the squared euclidean distance of x and y (len(y) >= len(x)).
func sqDist(x, y []float32) float32 {
	if useAVX2() && len(x) >= 8 {
		return sqDistAVX2(x, y[:len(x)])
	}
	return sqDistGeneric(x, y)
}

func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sqDistGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		d0 := x[i] - y[i]
		d1 := x[i+1] - y[i+1]
		d2 := x[i+2] - y[i+2]
		d3 := x[i+3] - y[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - y[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}
