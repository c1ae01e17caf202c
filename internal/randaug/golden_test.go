package randaug

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
)

// golden is testdata/golden.json.gz, written by testdata/gen_golden.py with
// Debian's python3-torchvision.
type golden struct {
	Torchvision string `json:"torchvision"`
	Images      []struct {
		Name          string `json:"name"`
		Height, Width int
		Pixels        string `json:"pixels"`
	} `json:"images"`
	Cases []struct {
		Image     string  `json:"image"`
		Op        string  `json:"op"`
		Bins      int     `json:"bins"`
		Magnitude int     `json:"magnitude"`
		Negative  bool    `json:"negative"`
		Value     float64 `json:"value"`
		Output    string  `json:"output"`
	} `json:"cases"`
	Chains []struct {
		Image     string `json:"image"`
		Bins      int    `json:"bins"`
		Magnitude int    `json:"magnitude"`
		Ops       []struct {
			Op       string `json:"op"`
			Negative bool   `json:"negative"`
		} `json:"ops"`
		Output string `json:"output"`
	} `json:"chains"`
	Maps []struct {
		Height, Width int
		Op            string `json:"op"`
		Bins          int    `json:"bins"`
		Magnitude     int    `json:"magnitude"`
		Negative      bool   `json:"negative"`
		Src           string `json:"src"`
	} `json:"maps"`
	Linspace []struct {
		Start, End float64
		Steps      int
		Values     []float64
	} `json:"linspace"`
	Posterize []struct {
		Bins int
		Bits []int
	} `json:"posterize"`
}

var (
	goldenOnce sync.Once
	goldenData *golden
	goldenErr  error
)

func loadGolden(t testing.TB) *golden {
	t.Helper()
	goldenOnce.Do(func() {
		var g golden
		if goldenErr = readGzipJSON("testdata/golden.json.gz", &g); goldenErr == nil {
			goldenData = &g
		}
	})
	if goldenErr != nil {
		t.Fatalf("golden vectors: %v (regenerate with /usr/bin/python3 testdata/gen_golden.py)", goldenErr)
	}
	return goldenData
}

// readGzipJSON decodes the gzip-compressed JSON file path into v.
func readGzipJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	return json.NewDecoder(zr).Decode(v)
}

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type goldenImage struct {
	h, w int
	pix  []uint8
}

func goldenImages(t testing.TB, g *golden) map[string]goldenImage {
	m := map[string]goldenImage{}
	for _, im := range g.Images {
		m[im.Name] = goldenImage{im.Height, im.Width, unb64(t, im.Pixels)}
	}
	return m
}

func mustOp(t testing.TB, name string) Op {
	t.Helper()
	op, err := ParseOp(name)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func diffCount(a, b []uint8) (n, first int) {
	first = -1
	for i := range a {
		if a[i] != b[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	return n, first
}

func TestLinspaceMatchesTorch(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Linspace {
		got := linspace32(c.Start, c.End, c.Steps)
		for i, want := range c.Values {
			if got[i] != float32(want) {
				t.Errorf("linspace(%v, %v, %d)[%d] = %v, torch %v", c.Start, c.End, c.Steps, i, got[i], float32(want))
			}
		}
	}
	for _, c := range g.Posterize {
		got := posterizeBits(c.Bins)
		for i, want := range c.Bits {
			if got[i] != want {
				t.Errorf("posterize bits, %d bins, bin %d = %d, torch %d", c.Bins, i, got[i], want)
			}
		}
	}
}

// TestOpsMatchTorchvision applies every op once to real FashionMNIST images
// (and a non-square synthetic one) at several magnitudes and both signs.
// Every op must match torchvision exactly; see TestAffineMapsMatchTorchvision
// for the affine ops' sampling on its own.
func TestOpsMatchTorchvision(t *testing.T) {
	g := loadGolden(t)
	imgs := goldenImages(t, g)
	for _, c := range g.Cases {
		name := fmt.Sprintf("%s/%s/bins%d/m%d/neg=%v", c.Image, c.Op, c.Bins, c.Magnitude, c.Negative)
		im := imgs[c.Image]
		op := mustOp(t, c.Op)
		a, err := New(im.h, im.w, Config{NumOps: 1, Bins: c.Bins, Magnitude: c.Magnitude, Ops: []Op{op}})
		if err != nil {
			t.Fatal(err)
		}
		if v := magnitude(op, c.Bins, c.Magnitude, im.h, im.w, c.Negative); v != c.Value {
			t.Errorf("%s: magnitude %v, torchvision %v", name, v, c.Value)
		}
		got := make([]uint8, im.h*im.w)
		a.Apply(got, im.pix, op, c.Negative)
		want := unb64(t, c.Output)
		if n, i := diffCount(got, want); n > 0 {
			t.Errorf("%s (torchvision %s): %d pixels differ, first at (%d,%d): got %d, want %d",
				name, g.Torchvision, n, i/im.w, i%im.w, got[i], want[i])
		}
	}
}

// TestChainsMatchTorchvision applies fixed sequences of five ops, as
// RandAugment does with the ops it draws.
func TestChainsMatchTorchvision(t *testing.T) {
	g := loadGolden(t)
	imgs := goldenImages(t, g)
	for k, c := range g.Chains {
		im := imgs[c.Image]
		a, err := New(im.h, im.w, Config{Bins: c.Bins, Magnitude: c.Magnitude})
		if err != nil {
			t.Fatal(err)
		}
		cur := append([]uint8(nil), im.pix...)
		var names []string
		for _, s := range c.Ops {
			a.Apply(cur, cur, mustOp(t, s.Op), s.Negative)
			names = append(names, fmt.Sprintf("%s%s", map[bool]string{true: "-", false: "+"}[s.Negative], s.Op))
		}
		want := unb64(t, c.Output)
		if n, i := diffCount(cur, want); n > 0 {
			t.Errorf("chain %d %s %v: %d pixels differ, first at %d: got %d, want %d", k, c.Image, names, n, i, cur[i], want[i])
		}
	}
}

// TestAffineMapsMatchTorchvision compares, for the five affine ops at every
// magnitude bin (28x28) or a few (non-square sizes), and both signs, the
// source pixel of every output pixel with torchvision's (found by
// transforming an image of pixel indices).
func TestAffineMapsMatchTorchvision(t *testing.T) {
	g := loadGolden(t)
	total, bad := 0, 0
	for _, c := range g.Maps {
		op := mustOp(t, c.Op)
		raw := unb64(t, c.Src)
		want := make([]int32, len(raw)/4)
		for i := range want {
			want[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		v := magnitude(op, c.Bins, c.Magnitude, c.Height, c.Width, c.Negative)
		got := sourceMap(opMatrix(op, v, c.Height, c.Width), c.Height, c.Width, -1)
		n := 0
		for i := range want {
			if got[i] != want[i] {
				n++
				if n <= 3 {
					t.Logf("%dx%d %s m%d neg=%v: pixel (%d,%d) reads %d, torchvision %d",
						c.Height, c.Width, c.Op, c.Magnitude, c.Negative, i/c.Width, i%c.Width, got[i], want[i])
				}
			}
		}
		total += len(want)
		bad += n
	}
	t.Logf("affine maps: %d of %d output pixels differ from torchvision %s", bad, total, g.Torchvision)
	if bad > 0 {
		t.Errorf("%d of %d affine output pixels read another source pixel than torchvision", bad, total)
	}
}
