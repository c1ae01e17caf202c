//go:build !purego

package cpufeat

// built is the highest level whose kernels this build links.
const built = AVX512
