//go:build openblas

package infer

import _ "github.com/siampipe/siampipe/internal/openblas" // blas32 -> OpenBLAS

// preferBLAS is true: built with the tag openblas, every product goes to
// OpenBLAS through gonum's netlib bindings (cgo, -lopenblas).
const preferBLAS = true
