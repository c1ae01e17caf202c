// Package stagetest builds a stage's binary for its end-to-end tests.
package stagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Main is a TestMain for a stage package: it builds the package in the
// current directory into a temporary folder, stores the binary's path in
// *bin, runs the tests and exits with their status. A failed build prints the
// compiler's output and exits 1.
func Main(m *testing.M, name string, bin *string) {
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		panic(err)
	}
	*bin = filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", *bin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
