// Package stagetest builds stage binaries for end-to-end tests.
package stagetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Module is the Go module path of siampipe.
const Module = "github.com/siampipe/siampipe"

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

// Build builds the named stages (fetch, augment, ...) with one go build
// into dir, each binary named for its stage.
func Build(dir string, stages ...string) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, s := range stages {
		args = append(args, Module+"/stages/"+s)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}
