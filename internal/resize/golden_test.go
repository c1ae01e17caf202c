package resize

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/siampipe/siampipe/internal/raster"
	"github.com/siampipe/siampipe/internal/splitmix"
)

// golden is testdata/golden.json.gz, written by testdata/golden.py with
// Debian's python3-torchvision.
type golden struct {
	Torchvision   string `json:"torchvision"`
	Torch         string `json:"torch"`
	CPUCapability string `json:"cpu_capability"`
	Images        []struct {
		Name                    string
		Channels, Height, Width int
		Pixels                  string // base64 CHW, or empty for a generated image
		Gen                     *struct {
			Kind                    string
			Seed                    uint64
			Channels, Height, Width int
		}
	}
	Cases []struct {
		Image         string
		Height, Width int
		Unchanged     bool   // torchvision returned its input as is
		Output        string // base64 CHW
	}
	Floats []struct {
		Image         string
		Height, Width int
		Values        string // base64 little-endian float32, CHW
	}
}

var (
	goldenOnce   sync.Once
	goldenData   *golden
	goldenImages map[string]raster.Image
	goldenErr    error
)

func loadGolden(t testing.TB) (*golden, map[string]raster.Image) {
	t.Helper()
	goldenOnce.Do(func() { goldenData, goldenImages, goldenErr = readGolden("testdata/golden.json.gz") })
	if goldenErr != nil {
		t.Fatalf("golden vectors: %v (regenerate with /usr/bin/python3 internal/resize/testdata/golden.py)", goldenErr)
	}
	return goldenData, goldenImages
}

func readGolden(path string) (*golden, map[string]raster.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, err
	}
	var g golden
	if err := json.NewDecoder(zr).Decode(&g); err != nil {
		return nil, nil, err
	}
	ims := map[string]raster.Image{}
	for _, e := range g.Images {
		im := raster.Image{C: e.Channels, H: e.Height, W: e.Width}
		switch {
		case e.Gen != nil && e.Gen.Kind == "noise":
			im = noise(e.Gen.Seed, e.Channels, e.Height, e.Width)
		case e.Gen != nil && e.Gen.Kind == "zone":
			im = zone(e.Channels, e.Height, e.Width)
		case e.Gen != nil:
			return nil, nil, fmt.Errorf("image %s: unknown generator %q", e.Name, e.Gen.Kind)
		default:
			if im.Pix, err = base64.StdEncoding.DecodeString(e.Pixels); err != nil {
				return nil, nil, fmt.Errorf("image %s: %v", e.Name, err)
			}
		}
		if err := im.Check(); err != nil {
			return nil, nil, fmt.Errorf("image %s: %v", e.Name, err)
		}
		ims[e.Name] = im
	}
	return &g, ims, nil
}

// noise is golden.py's noise image: sample i is splitmix.Mix(seed<<32 | i) >> 56.
func noise(seed uint64, c, h, w int) raster.Image {
	im := raster.New(c, h, w)
	for i := range im.Pix {
		im.Pix[i] = uint8(splitmix.Mix(seed<<32|uint64(i)) >> 56)
	}
	return im
}

// zone is golden.py's zone plate: ((x*x + 2*y*y) >> 3) + 85*c, mod 256.
func zone(c, h, w int) raster.Image {
	im := raster.New(c, h, w)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				im.Pix[(ch*h+y)*w+x] = uint8((x*x+2*y*y)>>3 + 85*ch)
			}
		}
	}
	return im
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBilinearMatchesTorchvision compares every golden case byte for byte: the
// float32 arithmetic is torch's own (see weights.go), so not even the
// half-way cases of the final rounding may differ.
func TestBilinearMatchesTorchvision(t *testing.T) {
	g, ims := loadGolden(t)
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	for _, gc := range g.Cases {
		src := ims[gc.Image]
		name := fmt.Sprintf("%s_to_%dx%d", gc.Image, gc.Height, gc.Width)
		t.Run(name, func(t *testing.T) {
			if src.Pix == nil {
				t.Fatalf("no golden image %q", gc.Image)
			}
			want := src.Pix
			if !gc.Unchanged {
				want = mustB64(t, gc.Output)
			}
			got, err := Bilinear(src, gc.Height, gc.Width)
			if err != nil {
				t.Fatal(err)
			}
			if got.C != src.C || got.H != gc.Height || got.W != gc.Width || len(want) != len(got.Pix) {
				t.Fatalf("got %s (golden holds %d samples), want %s", got.Shape(), len(want), raster.Shape(src.C, gc.Height, gc.Width))
			}
			if n, maxd, first := diff(got.Pix, want); n > 0 {
				t.Fatalf("%d of %d bytes differ from torchvision %s (max by %d; first at %d: %d, want %d)",
					n, len(want), g.Torchvision, maxd, first, got.Pix[first], want[first])
			}
		})
	}
}

// TestFloatsMatchTorchBitForBit compares the float32 values before rounding
// with torch's interpolate, bit for bit: this is what pins down the order of
// the float32 operations (separable passes, width first; the fused and
// unfused adds described in weights.go).
func TestFloatsMatchTorchBitForBit(t *testing.T) {
	g, ims := loadGolden(t)
	if len(g.Floats) == 0 {
		t.Fatal("no golden float cases")
	}
	for _, gc := range g.Floats {
		src := ims[gc.Image]
		t.Run(fmt.Sprintf("%s_to_%dx%d", gc.Image, gc.Height, gc.Width), func(t *testing.T) {
			raw := mustB64(t, gc.Values)
			r, err := New(src.H, src.W, gc.Height, gc.Width)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, src.C*gc.Height*gc.Width)
			if len(raw) != 4*len(got) {
				t.Fatalf("golden holds %d bytes, want %d", len(raw), 4*len(got))
			}
			r.resize(raster.New(src.C, gc.Height, gc.Width), src, got)
			bad, first := 0, -1
			for i, v := range got {
				if math.Float32bits(v) != binary.LittleEndian.Uint32(raw[4*i:]) {
					if first < 0 {
						first = i
					}
					bad++
				}
			}
			if bad > 0 {
				want := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*first:]))
				t.Fatalf("%d of %d float32 values differ from torch %s (%s kernel); first at %d: %v, want %v",
					bad, len(got), g.Torch, g.CPUCapability, first, got[first], want)
			}
		})
	}
}

// diff counts the differing bytes of equal-length a and b and returns the
// largest difference and the first index that differs.
func diff(a, b []uint8) (n, maxd, first int) {
	first = -1
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			if first < 0 {
				first = i
			}
			n++
			maxd = max(maxd, d)
		}
	}
	return n, maxd, first
}
