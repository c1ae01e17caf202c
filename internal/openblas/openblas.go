//go:build openblas

// Package openblas binds OpenBLAS (cgo, -lopenblas) for binaries built with
// the tag openblas. Importing it makes OpenBLAS use the best kernels the CPU
// runs, with one thread, and sends gonum's blas32 to it. It is its own
// package because a package using cgo cannot hold Go assembly, and the
// packages using it do.
package openblas

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
*/
import "C"

import (
	"os"
	"syscall"

	"github.com/siampipe/siampipe/internal/cpufeat"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/netlib/blas/netlib"
)

// coreEnv is the variable OpenBLAS reads its kernel choice from, once,
// when the library is loaded (before any Go code runs).
const coreEnv = "OPENBLAS_CORETYPE"

func init() {
	upgradeCore()
	// The callers are single-threaded Go loops between the products, or
	// already use every core with their own workers; OpenBLAS threads on
	// top of them spin against each other.
	C.openblas_set_num_threads(1)
	blas32.Use(netlib.Implementation{})
}

// Float32 returns the OpenBLAS implementation of single-precision BLAS.
func Float32() blas.Float32 { return netlib.Implementation{} }

// Core reports the kernel family OpenBLAS is using, e.g. "SkylakeX".
func Core() string { return C.GoString(C.openblas_get_corename()) }

// upgradeCore re-executes the program with OPENBLAS_CORETYPE set when
// OpenBLAS picked weaker kernels than the CPU runs (see Upgrade). The
// variable is read only at load time, so a new process is the only way to
// change the choice; it happens in init, before anything has been read or
// written, and at most once (the new process finds the variable set). A
// value the user set is left alone.
func upgradeCore() {
	if _, set := os.LookupEnv(coreEnv); set {
		return
	}
	want := Upgrade(Core(), cpufeat.Host())
	if want == "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	// Exec returns only on failure; then we carry on with the kernels we have.
	_ = syscall.Exec(exe, os.Args, append(os.Environ(), coreEnv+"="+want))
}
