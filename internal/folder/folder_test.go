package folder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// pngBytes encodes a w x h grey PNG whose samples depend on seed.
func pngBytes(t testing.TB, w, h, seed int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(seed*31 + i*7 + (i*i)%13)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// rgbPNG encodes a w x h RGB PNG.
func rgbPNG(t testing.TB, w, h, seed int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = byte(seed+i), byte(3*i), byte(seed*i), 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a PNG header claiming 100000 x 100000 pixels, and no pixels.
func hugePNG() []byte {
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(append(b, typ...), data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, 100000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 100000)
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	b := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	return append(b, chunk("IEND", nil)...)
}

// tree makes the files (slash-separated paths to contents) and, for
// entries whose content starts with "->", symlinks to the rest; a path
// ending in "/" makes an empty directory.
func tree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(filepath.FromSlash(target), full)
		} else {
			err = os.WriteFile(full, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func paths(l *Listing) []string {
	var out []string
	for _, f := range l.Files {
		out = append(out, fmt.Sprintf("%d %s", f.Label, f.Path))
	}
	return out
}

func TestScanListsClassFoldersInOrder(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		classes []string
		want    []string
	}{
		{
			name: "classes sorted by name, files by path, recursively",
			files: map[string]string{
				"dog/b.png": "x", "dog/a.png": "x", "cat/z/1.png": "x", "cat/2.png": "x",
				"cat/z/0.png": "x", "Zebra/q.jpg": "x", "cat/y-1/a.png": "x",
			},
			classes: []string{"Zebra", "cat", "dog"},
			want:    []string{"0 Zebra/q.jpg", "1 cat/2.png", "1 cat/y-1/a.png", "1 cat/z/0.png", "1 cat/z/1.png", "2 dog/a.png", "2 dog/b.png"},
		},
		{
			name: "hidden entries skipped everywhere",
			files: map[string]string{
				".git/config": "x", ".DS_Store": "x", "cat/.thumbs/a.png": "x", "cat/.a.png": "x",
				"cat/b.png": "x", "dog/c.png": "x",
			},
			classes: []string{"cat", "dog"},
			want:    []string{"0 cat/b.png", "1 dog/c.png"},
		},
		{
			name: "non-image files are listed, for Load to report",
			files: map[string]string{
				"cat/a.png": "x", "cat/notes.txt": "hello",
			},
			classes: []string{"cat"},
			want:    []string{"0 cat/a.png", "0 cat/notes.txt"},
		},
		{
			name: "symlinks to files and directories followed",
			files: map[string]string{
				"data/cats/a.png": "x", "data/cats/sub/b.png": "x", "data/x.png": "x",
				"set/cat": "->../data/cats", "set/dog/l.png": "->../../data/x.png", "set/dog/m.png": "x",
			},
			classes: []string{"cat", "dog"},
			want:    []string{"0 cat/a.png", "0 cat/sub/b.png", "1 dog/l.png", "1 dog/m.png"},
		},
		{
			name: "symlink cycles skipped",
			files: map[string]string{
				"cat/a.png": "x", "cat/sub/b.png": "x", "cat/sub/up": "->..", "cat/loop": "->.",
				"cat/root": "->..",
			},
			classes: []string{"cat"},
			want:    []string{"0 cat/a.png", "0 cat/sub/b.png"},
		},
		{
			name:    "a broken symlink is listed, for Load to report",
			files:   map[string]string{"cat/a.png": "x", "cat/gone.png": "->nowhere.png"},
			classes: []string{"cat"},
			want:    []string{"0 cat/a.png", "0 cat/gone.png"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.files)
			if tc.name == "symlinks to files and directories followed" {
				root = filepath.Join(root, "set")
			}
			l, err := Scan(root)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.Classes, tc.classes) || !reflect.DeepEqual(paths(l), tc.want) {
				t.Fatalf("classes %q files %q\nwant %q %q", l.Classes, paths(l), tc.classes, tc.want)
			}
			if l.Root != root {
				t.Fatalf("root %q, want %q", l.Root, root)
			}
		})
	}
}

func TestScanFlatFolderIsUnlabelled(t *testing.T) {
	root := tree(t, map[string]string{"b.png": "x", "a.png": "x", ".hidden.png": "x", "c": "->a.png"})
	l, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-1 a.png", "-1 b.png", "-1 c"}
	if l.Classes != nil || !reflect.DeepEqual(paths(l), want) {
		t.Fatalf("classes %q files %q, want nil %q", l.Classes, paths(l), want)
	}
}

func TestScanAccepts256Classes(t *testing.T) {
	files := map[string]string{}
	for i := range 256 {
		files[fmt.Sprintf("c%03d/a.png", i)] = "x"
	}
	l, err := Scan(tree(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Classes) != 256 || l.Files[255].Label != 255 || l.Classes[255] != "c255" {
		t.Fatalf("%d classes, last file %+v", len(l.Classes), l.Files[255])
	}
}

func TestScanRejectsUnusableFolders(t *testing.T) {
	many := map[string]string{}
	for i := range 257 {
		many[fmt.Sprintf("c%03d/a.png", i)] = "x"
	}
	tests := []struct {
		name  string
		files map[string]string
		sub   string // scan root/sub
		want  error
		names string // the error must mention this
	}{
		{"missing root", map[string]string{}, "nope", fs.ErrNotExist, "nope"},
		{"missing root is not a folder", map[string]string{}, "nope", ErrNotFolder, "nope"},
		{"root is a file", map[string]string{"f.png": "x"}, "f.png", ErrNotFolder, "f.png"},
		{"empty folder", map[string]string{"empty/": ""}, "empty", ErrEmpty, "empty"},
		{"only hidden entries", map[string]string{".a.png": "x", ".cache/b.png": "x"}, "", ErrEmpty, ""},
		{"empty class folder", map[string]string{"cat/a.png": "x", "dog/": ""}, "", ErrEmptyClass, "dog"},
		{"class folder of hidden files", map[string]string{"cat/a.png": "x", "dog/.x.png": "x"}, "", ErrEmptyClass, "dog"},
		{"class folder of empty folders", map[string]string{"cat/a.png": "x", "dog/sub/": ""}, "", ErrEmptyClass, "dog"},
		{"files beside class folders", map[string]string{"cat/a.png": "x", "stray.png": "x"}, "", ErrMixed, "stray.png"},
		{"257 classes", many, "", ErrTooManyClasses, "257"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(tree(t, tc.files), tc.sub)
			l, err := Scan(root)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v (listing %v), want %v", err, l, tc.want)
			}
			if !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("error %q does not name %q", err, tc.names)
			}
		})
	}
}
