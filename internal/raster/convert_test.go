package raster

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// convertGolden is testdata/convert_golden.json.gz, written by
// testdata/gen_convert_golden.py with Debian's python3-pil.
type convertGolden struct {
	PIL        string        `json:"pil"`
	Grey       []convertCase `json:"grey"`
	RGB        []convertCase `json:"rgb"`
	CubeSHA256 string        `json:"cube_sha256"`
}

type convertCase struct {
	Name                    string
	Channels, Height, Width int
	Input, Output           string // base64 CHW bytes
}

func loadConvertGolden(t *testing.T) *convertGolden {
	t.Helper()
	f, err := os.Open("testdata/convert_golden.json.gz")
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 internal/raster/testdata/gen_convert_golden.py)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var g convertGolden
	if err := json.NewDecoder(zr).Decode(&g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func decodeB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (c convertCase) image(t *testing.T) Image {
	t.Helper()
	im := Image{C: c.Channels, H: c.Height, W: c.Width, Pix: decodeB64(t, c.Input)}
	if err := im.Check(); err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	return im
}

func TestConvertMatchesPIL(t *testing.T) {
	g := loadConvertGolden(t)
	for _, tc := range []struct {
		mode  string
		cases []convertCase
		c     int
	}{{"L", g.Grey, 1}, {"RGB", g.RGB, 3}} {
		if len(tc.cases) == 0 {
			t.Fatalf("no golden cases for convert(%q)", tc.mode)
		}
		for _, gc := range tc.cases {
			t.Run(tc.mode+"/"+gc.Name, func(t *testing.T) {
				got, err := Convert(gc.image(t), tc.c)
				if err != nil {
					t.Fatal(err)
				}
				want := decodeB64(t, gc.Output)
				if got.C != tc.c || got.H != gc.Height || got.W != gc.Width {
					t.Fatalf("shape %s, want %s", got.Shape(), Shape(tc.c, gc.Height, gc.Width))
				}
				if len(want) != len(got.Pix) {
					t.Fatalf("golden output holds %d samples, want %d", len(want), len(got.Pix))
				}
				if i := firstDiff(got.Pix, want); i >= 0 {
					t.Fatalf("sample %d: got %d, PIL %s convert(%q) gives %d", i, got.Pix[i], g.PIL, tc.mode, want[i])
				}
			})
		}
	}
}

// TestToGreyMatchesPILOnEveryColour runs all 2^24 colours through ToGrey and
// compares the SHA-256 of the result with that of PIL's convert("L").
func TestToGreyMatchesPILOnEveryColour(t *testing.T) {
	g := loadConvertGolden(t)
	h := sha256.New()
	im := New(3, 256, 256) // one red level: g down the rows, b across
	for r := 0; r < 256; r++ {
		n := 256 * 256
		for i := 0; i < n; i++ {
			im.Pix[i], im.Pix[n+i], im.Pix[2*n+i] = uint8(r), uint8(i>>8), uint8(i)
		}
		h.Write(ToGrey(im).Pix)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != g.CubeSHA256 {
		t.Fatalf("SHA-256 of ToGrey over all colours is %s, PIL %s gives %s", got, g.PIL, g.CubeSHA256)
	}
}

func TestConvertSameChannelsSharesPix(t *testing.T) {
	for _, c := range []int{1, 3} {
		im := New(c, 2, 3)
		out, err := Convert(im, c)
		if err != nil {
			t.Fatal(err)
		}
		if &out.Pix[0] != &im.Pix[0] || out.Shape() != im.Shape() {
			t.Errorf("Convert of a %d-channel image to %d channels made a copy", c, c)
		}
	}
}

func TestConvertRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		im   Image
		c    int
	}{
		{"target 0 channels", New(3, 2, 2), 0},
		{"target 2 channels", New(3, 2, 2), 2},
		{"target 4 channels", New(1, 2, 2), 4},
		{"two-channel source", New(2, 2, 2), 1},
		{"short Pix", Image{C: 3, H: 2, W: 2, Pix: make([]uint8, 11)}, 1},
		{"zero height", Image{C: 3, H: 0, W: 2}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Convert(tc.im, tc.c); err == nil {
				t.Fatalf("Convert(%s, %d) succeeded", tc.im.Shape(), tc.c)
			}
		})
	}
}

func TestToGreyAndToRGBPanicOnTwoChannels(t *testing.T) {
	for name, f := range map[string]func(Image) Image{"ToGrey": ToGrey, "ToRGB": ToRGB} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("%s of a 2-channel image did not panic", name)
				}
			}()
			f(New(2, 1, 1))
		})
	}
}

func TestToRGBThenToGreyIsIdentity(t *testing.T) {
	im := New(1, 16, 16)
	for i := range im.Pix {
		im.Pix[i] = uint8(i)
	}
	if got := ToGrey(ToRGB(im)); !bytes.Equal(got.Pix, im.Pix) {
		t.Fatal("grey -> RGB -> grey changed levels (the luma weights must sum to 65536)")
	}
}

// firstDiff returns the first index where equal-length a and b differ, or -1.
func firstDiff(a, b []uint8) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func ExampleToGrey() {
	im := New(3, 1, 3) // one pure red, green and blue pixel
	im.Pix = []uint8{255, 0, 0, 0, 255, 0, 0, 0, 255}
	fmt.Println(ToGrey(im).Pix)
	// Output: [76 150 29]
}
