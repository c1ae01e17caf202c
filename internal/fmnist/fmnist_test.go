package fmnist

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func idxFile(dims []int, data []byte, compress bool) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	if !compress {
		return b.Bytes()
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b.Bytes())
	w.Close()
	return z.Bytes()
}

func writeSplit(t *testing.T, dir, split string, images, labels []byte) {
	t.Helper()
	fs := Files[split]
	if err := os.WriteFile(filepath.Join(dir, fs[0].Name), images, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fs[1].Name), labels, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLocateSearchOrder(t *testing.T) {
	data, cache := t.TempDir(), t.TempDir()
	t.Setenv("SIAMPIPE_DATA", data)
	t.Setenv("XDG_CACHE_HOME", cache)
	cacheDir := filepath.Join(cache, "siampipe", "fashion-mnist")
	os.MkdirAll(cacheDir, 0o755)
	img, lbl := idxFile([]int{1, 2, 2}, []byte{1, 2, 3, 4}, true), idxFile([]int{1}, []byte{3}, true)
	writeSplit(t, cacheDir, "test", img, lbl)
	if im, _, err := Locate("", "test"); err != nil || filepath.Dir(im) != cacheDir {
		t.Fatalf("want the cache, got %s %v", im, err)
	}
	writeSplit(t, data, "test", img, lbl)
	if im, _, err := Locate("", "test"); err != nil || filepath.Dir(im) != data {
		t.Fatalf("want $SIAMPIPE_DATA, got %s %v", im, err)
	}
	other := t.TempDir()
	if _, _, err := Locate(other, "test"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), other) {
		t.Fatalf("--dir without files: %v", err)
	}
	t.Setenv("SIAMPIPE_DATA", other)
	os.RemoveAll(cacheDir)
	defer func(d string) { debianDir = d }(debianDir)
	debianDir = t.TempDir() // as if the Debian package were not installed
	if _, _, err := Locate("", "test"); err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") || !strings.Contains(err.Error(), "--download") {
		t.Fatalf("error should name both fixes: %v", err)
	}
	if _, _, err := Locate("", "valid"); err == nil {
		t.Fatal("unknown split accepted")
	}
}

func TestLocateAcceptsDecompressedFiles(t *testing.T) {
	dir := t.TempDir()
	fs := Files["train"]
	os.WriteFile(filepath.Join(dir, strings.TrimSuffix(fs[0].Name, ".gz")), idxFile([]int{1, 1, 1}, []byte{9}, false), 0o644)
	os.WriteFile(filepath.Join(dir, fs[1].Name), idxFile([]int{1}, []byte{2}, true), 0o644)
	im, lb, err := Locate(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(im, lb)
	if err != nil || s.Count != 1 || s.Pixels[0] != 9 || s.Labels[0] != 2 {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestLoadRejectsInconsistentFiles(t *testing.T) {
	img := idxFile([]int{2, 2, 2}, make([]byte, 8), true)
	tests := []struct {
		name           string
		images, labels []byte
		want           string
	}{
		{"count mismatch", img, idxFile([]int{3}, []byte{1, 2, 3}, true), "2 images but 3 labels"},
		{"label out of range", img, idxFile([]int{2}, []byte{1, 10}, true), "label 10 of row 1"},
		{"labels as images", idxFile([]int{2}, []byte{1, 1}, true), idxFile([]int{2}, []byte{1, 1}, true), "expected 3 (0x00000803)"},
		{"images as labels", img, img, "expected 1 (0x00000801)"},
		{"truncated images", img[:len(img)-9], idxFile([]int{2}, []byte{1, 1}, true), "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSplit(t, dir, "test", tc.images, tc.labels)
			im, lb, _ := Locate(dir, "test")
			_, err := Load(im, lb)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDownloadChecksAndIsAtomic(t *testing.T) {
	good := idxFile([]int{1}, []byte{4}, true)
	sum := md5.Sum(good)
	files := []File{{Name: "a.gz", MD5: hex.EncodeToString(sum[:])}, {Name: "b.gz", MD5: hex.EncodeToString(sum[:])}}
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/a.gz":
			w.Write(good)
		case "/b.gz":
			w.Write(append([]byte("corrupt"), good...))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	err := Download(context.Background(), srv.Client(), srv.URL, dir, files, nil)
	if err == nil || !strings.Contains(err.Error(), "b.gz") || !strings.Contains(err.Error(), "MD5") {
		t.Fatalf("corrupt b.gz: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "a.gz" {
		t.Fatalf("want only a.gz left, got %v", entries)
	}
	hits = 0
	if err := Download(context.Background(), srv.Client(), srv.URL, dir, files[:1], nil); err != nil || hits != 0 {
		t.Fatalf("a present file should not be fetched again: %v, %d requests", err, hits)
	}
	if err := Download(context.Background(), srv.Client(), srv.URL, dir, []File{{Name: "missing.gz", MD5: "x"}}, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
}

// TestRealData checks both splits of the Debian package's files: counts, 6,000
// / 1,000 images per class, and SHA-256 digests of all pixels and labels.
func TestRealData(t *testing.T) {
	want := map[string]struct {
		count          int
		pixels, labels string
	}{
		"train": {60000, "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012", "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7"},
		"test":  {10000, "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a", "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"},
	}
	for split, w := range want {
		im, lb, err := Locate(DebianDir, split)
		if err != nil {
			t.Fatalf("%v (CI installs dataset-fashion-mnist)", err)
		}
		s, err := Load(im, lb)
		if err != nil {
			t.Fatal(err)
		}
		if s.Count != w.count || s.Rows != 28 || s.Cols != 28 {
			t.Fatalf("%s: %d images of %dx%d", split, s.Count, s.Rows, s.Cols)
		}
		var perClass [10]int
		for _, l := range s.Labels {
			perClass[l]++
		}
		for c, n := range perClass {
			if n != w.count/10 {
				t.Fatalf("%s: class %d has %d images", split, c, n)
			}
		}
		if got := sha(s.Pixels); got != w.pixels {
			t.Fatalf("%s pixels sha256 %s", split, got)
		}
		if got := sha(s.Labels); got != w.labels {
			t.Fatalf("%s labels sha256 %s", split, got)
		}
	}
}

func sha(p []byte) string {
	h := sha256.Sum256(p)
	return hex.EncodeToString(h[:])
}

// TestDownloadFollowsSymlinksAndKeepsModes: a cache file that is a symbolic
// link (to a shared copy, say) stays a link and the file it names is
// replaced; a replaced file keeps its mode.
func TestDownloadFollowsSymlinksAndKeepsModes(t *testing.T) {
	good := idxFile([]int{1}, []byte{4}, true)
	sum := md5.Sum(good)
	files := []File{{Name: "a.gz", MD5: hex.EncodeToString(sum[:])}, {Name: "b.gz", MD5: hex.EncodeToString(sum[:])}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(good) }))
	defer srv.Close()
	dir, shared := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(shared, "a.gz"), []byte("stale"), 0o640)
	os.Symlink(filepath.Join(shared, "a.gz"), filepath.Join(dir, "a.gz"))
	os.WriteFile(filepath.Join(dir, "b.gz"), []byte("stale"), 0o600)
	if err := Download(context.Background(), srv.Client(), srv.URL, dir, files, nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "a.gz")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("a.gz is no longer a link: %v %v", fi.Mode(), err)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Join(shared, "a.gz"), 0o640}, {filepath.Join(dir, "b.gz"), 0o600}} {
		b, _ := os.ReadFile(c.path)
		fi, _ := os.Stat(c.path)
		if !bytes.Equal(b, good) || fi.Mode() != c.mode {
			t.Errorf("%s: %d bytes, mode %v; want the download with mode %v", c.path, len(b), fi.Mode(), c.mode)
		}
	}
}
