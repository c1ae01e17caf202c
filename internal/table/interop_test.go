package table

// The tables in testdata come from interop/tables.mjs (apache-arrow and
// parquet-wasm, pinned in interop/package-lock.json). This test runs the
// script again and requires the same bytes, so that testdata stays what
// the script says it is. Like internal/contract's interop tests it needs
// Node.js and `cd interop && npm ci`, and fails (never skips) without them.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/interoptest"
)

// interopDir returns the absolute path of interop/ with its packages
// checked (interoptest.Dir).
func interopDir(t *testing.T) string {
	t.Helper()
	return interoptest.Dir(t, "apache-arrow", "parquet-wasm")
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
