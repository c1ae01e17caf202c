//go:build !amd64 || purego

package cpufeat

// built is the highest level whose kernels this build links: none.
const built = Generic
