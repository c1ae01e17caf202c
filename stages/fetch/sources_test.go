package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/raster"
	"github.com/siampipe/siampipe/internal/resize"
)

// fetched runs fetch with args, wanting success, and reads its stream.
func fetched(t *testing.T, args ...string) *contract.AllImages {
	t.Helper()
	out, stderr, code := run(t, nil, append(args, "--quiet")...)
	if code != 0 {
		t.Fatalf("fetch %v: exit %d: %s", args, code, stderr)
	}
	im, err := contract.ReadImages(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestFolderOfFashionMNISTPNGsIsTheIDXData exports the first 600 test images
// with the committed script and reads them back through --folder: the same
// pixels and labels as the IDX files, in ImageFolder order (by class, then
// by file name, which is the IDX row).
func TestFolderOfFashionMNISTPNGsIsTheIDXData(t *testing.T) {
	const n = 600
	dir := filepath.Join(t.TempDir(), "png")
	cmd := exec.Command("/usr/bin/python3", "../../tests/data/fmnist_png.py", dir, "--limit", fmt.Sprint(n))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fmnist_png.py: %v: %s", err, out)
	}
	idx := fetched(t, "--split", "test", "--limit", fmt.Sprint(n))
	fold := fetched(t, "--folder", filepath.Join(dir, "test"), "--split", "test")
	if fold.N != n || fold.Channels != 1 || fold.Height != 28 || fold.Width != 28 || !fold.Labelled {
		t.Fatalf("folder stream: %d images of %dx%dx%d, labelled %v", fold.N, fold.Channels, fold.Height, fold.Width, fold.Labelled)
	}
	classes, err := fold.Meta.Classes()
	if err != nil || len(classes) != 10 || classes[0] != "0-t-shirt-top" || classes[9] != "9-ankle-boot" {
		t.Fatalf("classes %q, %v", classes, err)
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	sort.SliceStable(rows, func(a, b int) bool { return idx.Label[rows[a]] < idx.Label[rows[b]] })
	for k, r := range rows {
		if fold.Label[k] != idx.Label[r] || !bytes.Equal(fold.Pixels[k*784:(k+1)*784], idx.Pixels[r*784:(r+1)*784]) {
			t.Fatalf("folder row %d differs from IDX row %d", k, r)
		}
	}
}

// writePNG writes im (1 or 3 channels) as a PNG file.
func writePNG(t *testing.T, path string, im raster.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var m image.Image
	if im.C == 1 {
		g := image.NewGray(image.Rect(0, 0, im.W, im.H))
		copy(g.Pix, im.Pix)
		m = g
	} else {
		c := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
		hw := im.H * im.W
		for p := range hw {
			c.Set(p%im.W, p/im.W, color.NRGBA{im.Pix[p], im.Pix[hw+p], im.Pix[2*hw+p], 255})
		}
		m = c
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func pattern(c, h, w int, seed int) raster.Image {
	im := raster.New(c, h, w)
	for i := range im.Pix {
		im.Pix[i] = uint8(i*13 + seed*71)
	}
	return im
}

func TestRGBFolderWithSizeAndChannels(t *testing.T) {
	dir := t.TempDir()
	a, b := pattern(3, 20, 30, 1), pattern(3, 24, 24, 2)
	writePNG(t, filepath.Join(dir, "red", "a.png"), a)
	writePNG(t, filepath.Join(dir, "blue", "b.png"), b)
	for _, tc := range []struct {
		name    string
		args    []string
		c, h, w int
		want    func(raster.Image) raster.Image
	}{
		{"rgb resized", []string{"--size", "16x12"}, 3, 16, 12, func(im raster.Image) raster.Image {
			r, _ := resize.Bilinear(im, 16, 12)
			return r
		}},
		{"grey resized", []string{"--size", "8x8", "--channels", "1"}, 1, 8, 8, func(im raster.Image) raster.Image {
			r, _ := resize.Bilinear(raster.ToGrey(im), 8, 8)
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fetched(t, append([]string{"--folder", dir}, tc.args...)...)
			if got.Channels != tc.c || got.Height != tc.h || got.Width != tc.w || got.N != 2 {
				t.Fatalf("%d images of %dx%dx%d", got.N, got.Channels, got.Height, got.Width)
			}
			if got.Meta[contract.MetaChannels] != map[int]string{1: "", 3: "3"}[tc.c] {
				t.Fatalf("metadata channels %q", got.Meta[contract.MetaChannels])
			}
			// Classes sorted: blue (b.png) is label 0, red (a.png) label 1.
			n := tc.c * tc.h * tc.w
			for k, src := range []raster.Image{b, a} {
				if want := tc.want(src); got.Label[k] != uint8(k) || !bytes.Equal(got.Pixels[k*n:(k+1)*n], want.Pix) {
					t.Fatalf("row %d: label %d or pixels differ", k, got.Label[k])
				}
			}
		})
	}
}

func TestFlatFolderIsUnlabelled(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		writePNG(t, filepath.Join(dir, fmt.Sprintf("%d.png", i)), pattern(1, 5, 5, i))
	}
	got := fetched(t, "--folder", dir)
	if got.Labelled || got.N != 3 || got.Meta[contract.MetaClasses] != "" {
		t.Fatalf("labelled %v, %d rows, classes %q", got.Labelled, got.N, got.Meta[contract.MetaClasses])
	}
}

func TestTestFractionSplitsEveryClass(t *testing.T) {
	train := fetched(t, "--idx-images", "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
		"--idx-labels", "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "--test-fraction", "0.25")
	test := fetched(t, "--idx-images", "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
		"--idx-labels", "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", "--test-fraction", "0.25", "--split", "test")
	if train.N+test.N != 10000 || test.N != 2500 {
		t.Fatalf("%d train and %d test rows of 10000", train.N, test.N)
	}
	seen := map[int64]bool{}
	perClass := map[uint8]int{}
	for _, s := range []*contract.AllImages{train, test} {
		for i, x := range s.Index {
			if seen[x] {
				t.Fatalf("row %d is in both splits", x)
			}
			seen[x] = true
			if s == test {
				perClass[s.Label[i]]++
			}
		}
	}
	for c := range uint8(10) {
		if perClass[c] != 250 {
			t.Fatalf("class %d has %d test rows, want 250", c, perClass[c])
		}
	}
	if names, _ := test.Meta.Classes(); strings.Join(names, ",") != "0,1,2,3,4,5,6,7,8,9" {
		t.Fatalf("IDX class names %q: want the label numbers", names)
	}
	if test.Meta[contract.MetaSplit] != "test" || train.Meta[contract.MetaSplit] != "train" {
		t.Fatal("split metadata")
	}
}

func TestBadImageInputs(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, files map[string][]byte) string {
		dir := filepath.Join(root, name)
		for p, b := range files {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	var small, big bytes.Buffer
	png.Encode(&small, image.NewGray(image.Rect(0, 0, 4, 4)))
	png.Encode(&big, image.NewGray(image.Rect(0, 0, 6, 4)))
	// A PNG header claiming 100000x100000 pixels, with no pixel data.
	huge := append([]byte(nil), small.Bytes()[:33]...)
	copy(huge[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29]))
	for _, tc := range []struct {
		name string
		dir  string
		args []string
		want string // in the one-line error; "" means success
	}{
		{"text file", mk("text", map[string][]byte{"a/1.png": small.Bytes(), "a/2.png": []byte("hello")}), nil, "a/2.png: not an image"},
		{"text file skipped", mk("text2", map[string][]byte{"a/1.png": small.Bytes(), "a/2.png": []byte("hello")}), []string{"--skip-bad"}, ""},
		{"truncated", mk("trunc", map[string][]byte{"a/1.png": small.Bytes()[:40]}), nil, "truncated"},
		{"mixed sizes", mk("mixed", map[string][]byte{"a/1.png": small.Bytes(), "b/2.png": big.Bytes()}), nil, "pass --size HxW"},
		{"mixed sizes resized", mk("mixed2", map[string][]byte{"a/1.png": small.Bytes(), "b/2.png": big.Bytes()}), []string{"--size", "4x4"}, ""},
		{"huge header", mk("huge", map[string][]byte{"a/1.png": huge}), nil, "100000x100000"},
		{"empty class", mk("emptyclass", map[string][]byte{"a/1.png": small.Bytes(), "b/.hidden": small.Bytes()}), nil, "empty class folder"},
		{"one image", mk("one", map[string][]byte{"only.png": small.Bytes()}), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := run(t, nil, append([]string{"--folder", tc.dir, "--quiet"}, tc.args...)...)
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				return
			}
			if code != 1 || !strings.Contains(stderr, tc.want) || !strings.HasPrefix(stderr, "fetch: ") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || len(stdout) != 0 {
				t.Fatalf("exit %d, %d bytes out, stderr %q; want exit 1 and one line with %q", code, len(stdout), stderr, tc.want)
			}
		})
	}
}

func TestSourceFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--folder", "a", "--parquet", "b"}, "give one source"},
		{[]string{"--idx-labels", "x"}, "without --idx-images"},
		{[]string{"--label-column", "y"}, "for --arrow and --parquet"},
		{[]string{"--skip-bad"}, "--skip-bad is for"},
		{[]string{"--size", "28"}, "use HxW"},
		{[]string{"--channels", "2"}, "use 1 (grey) or 3 (RGB)"},
		{[]string{"--test-fraction", "1"}, "--test-fraction 1: want a number in (0, 1)"},
		{[]string{"--folder", "x", "--dir", "y"}, "are for FashionMNIST"},
	} {
		_, stderr, code := run(t, nil, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestTablesFromOtherTools reads the image tables that apache-arrow (JS)
// and arrow-rs (Parquet) wrote (internal/table/testdata): the same images
// from every format, the Hugging Face ClassLabel names, and the pixels the
// generating script put in (row i's pixel j is (37i + 11j + 5) mod 256).
func TestTablesFromOtherTools(t *testing.T) {
	td := "../../internal/table/testdata/"
	byBase := map[string]*contract.AllImages{}
	for _, tc := range []struct {
		flag, file string
		hf         bool
	}{
		{"--parquet", "binary.parquet", false},
		{"--arrow", "binary.arrow", false},
		{"--arrow", "binary.arrows", false},
		{"--parquet", "hf.parquet", true},
		{"--arrow", "hf.arrows", true},
		{"--parquet", "rowgroups.parquet", false},
	} {
		got := fetched(t, tc.flag, td+tc.file)
		if got.N != 7 || got.Channels != 1 || got.Height != 4 || got.Width != 4 || !got.Labelled {
			t.Fatalf("%s: %d images of %dx%dx%d, labelled %v", tc.file, got.N, got.Channels, got.Height, got.Width, got.Labelled)
		}
		for i := range got.N {
			for j := range 16 {
				if want := uint8((37*i + 11*j + 5) % 256); got.Pixels[i*16+j] != want {
					t.Fatalf("%s row %d pixel %d is %d, want %d", tc.file, i, j, got.Pixels[i*16+j], want)
				}
			}
		}
		names, _ := got.Meta.Classes()
		if tc.hf && (len(names) != 10 || names[9] != "Ankle boot") {
			t.Errorf("%s: classes %q, want the ClassLabel names", tc.file, names)
		}
		base := strings.TrimSuffix(strings.TrimSuffix(tc.file, ".parquet"), filepath.Ext(tc.file))
		if prev, ok := byBase[base]; ok && !bytes.Equal(prev.Label, got.Label) {
			t.Errorf("%s: labels %v, another format's %v", tc.file, got.Label, prev.Label)
		}
		byBase[base] = got
	}
}
