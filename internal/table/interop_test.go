package table

// The tables in testdata come from interop/tables.mjs (apache-arrow and
// parquet-wasm, pinned in interop/package-lock.json). This test runs the
// script again and requires the same bytes, so that testdata stays what
// the script says it is. Like internal/contract's interop tests it needs
// Node.js and `cd interop && npm ci`, and fails (never skips) without them.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// interopDir returns the absolute path of interop/, failing the test with
// the set-up commands when Node.js or the pinned npm packages are missing.
func interopDir(t *testing.T) string {
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
	for _, p := range []string{"apache-arrow", "parquet-wasm"} {
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

func TestInteropTablesMjsWritesTheTestdata(t *testing.T) {
	dir := interopDir(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "tables.mjs", out)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node tables.mjs: %v: %s", err, strings.TrimSpace(string(msg)))
	}
	written, err := filepath.Glob(filepath.Join(out, "*"))
	if err != nil || len(written) == 0 {
		t.Fatalf("tables.mjs wrote nothing (%v)", err)
	}
	committed, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	tables := 0
	for _, c := range committed {
		if !strings.HasSuffix(c, ".md") {
			tables++
		}
	}
	if tables != len(written) {
		t.Errorf("testdata holds %d tables, tables.mjs writes %d", tables, len(written))
	}
	for _, w := range written {
		got, err := os.ReadFile(w)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", filepath.Base(w)))
		if err != nil {
			t.Errorf("%s: written by tables.mjs, missing from testdata: %v", filepath.Base(w), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: tables.mjs now writes %d bytes, testdata holds %d others: regenerate with `cd interop && node tables.mjs ../internal/table/testdata`",
				filepath.Base(w), len(got), len(want))
		}
	}
}
