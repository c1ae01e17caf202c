// Package stagetest builds stage binaries for end-to-end tests, and makes
// the small checkpoint the stage tests feed them.
package stagetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
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

// SmallCheckpoint is a seed-arch model with narrow layers (convs of 4, 8
// and 8 channels, predictor 128-16-128) and fixed random weights, as train
// would write it (an optimiser tensor included), with meta as its
// metadata: the file bytes and the tensors.
func SmallCheckpoint(t testing.TB, meta contract.Meta) ([]byte, []contract.Tensor) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	var ts []contract.Tensor
	add := func(name string, shift float32, shape ...int) {
		tt := contract.Tensor{Name: name, Shape: shape}
		tt.Values = make([]float32, tt.Size())
		for i := range tt.Values {
			tt.Values[i] = shift + 0.3*(2*r.Float32()-1)
		}
		ts = append(ts, tt)
	}
	c := 1
	for i, co := range []int{4, 8, 8} {
		add(fmt.Sprintf("backbone.conv%d.weight", i+1), 0, co, c, 3, 3)
		add(fmt.Sprintf("backbone.conv%d.bias", i+1), 0, co)
		for _, s := range []string{"weight", "running_var"} {
			add(fmt.Sprintf("backbone.bn%d.%s", i+1, s), 1, co)
		}
		for _, s := range []string{"bias", "running_mean"} {
			add(fmt.Sprintf("backbone.bn%d.%s", i+1, s), 0, co)
		}
		c = co
	}
	add("predictor.fc1.weight", 0, 16, 128)
	add("predictor.fc1.bias", 0, 16)
	add("predictor.bn1.weight", 1, 16)
	add("predictor.bn1.bias", 0, 16)
	add("predictor.bn1.running_mean", 0, 16)
	add("predictor.bn1.running_var", 1, 16)
	add("predictor.fc2.weight", 0, 128, 16)
	add("predictor.fc2.bias", 0, 128)
	add("optim.velocity.predictor.fc2.bias", 0, 128)
	var buf bytes.Buffer
	if err := contract.WriteModel(&buf, meta, ts, contract.Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ts
}
