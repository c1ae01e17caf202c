// Package interoptest finds the repository's interop/ folder for tests
// that run another Arrow implementation (apache-arrow for JavaScript,
// parquet-wasm) through Node.js, and checks that it is set up.
package interoptest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of interop/ (two levels above a package
// folder, as internal/NAME is), failing the test with the set-up commands
// when Node.js is missing or node_modules lacks one of packages at the
// version package-lock.json pins.
func Dir(t testing.TB, packages ...string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("interop: node is not on PATH (install Node.js >= 20, e.g. apt-get install nodejs npm), then run `cd interop && npm ci`")
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "package-lock.json")); err != nil || json.Unmarshal(b, &lock) != nil {
		t.Fatalf("interop: cannot read interop/package-lock.json: %v", err)
	}
	for _, p := range packages {
		want := lock.Packages["node_modules/"+p].Version
		var got struct{ Version string }
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", p, "package.json"))
		if err == nil {
			err = json.Unmarshal(b, &got)
		}
		if err != nil || want == "" || got.Version != want {
			t.Fatalf("interop: %s %s is not installed (found %q): run `cd interop && npm ci --no-audit --no-fund`", p, want, got.Version)
		}
	}
	return dir
}
