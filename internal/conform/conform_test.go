package conform

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/siampipe/siampipe/internal/raster"
	"github.com/siampipe/siampipe/internal/resize"
)

func img(c, h, w int, seed byte) raster.Image {
	im := raster.New(c, h, w)
	for i := range im.Pix {
		im.Pix[i] = byte(i*7) + seed
	}
	return im
}

func TestConform(t *testing.T) {
	grey, rgb := img(1, 6, 5, 1), img(3, 6, 5, 2)
	for _, tc := range []struct {
		name    string
		spec    Spec
		first   raster.Image
		in      raster.Image
		want    func() raster.Image // nil: want a ShapeError of kind what
		what    string
		c, h, w int
	}{
		{"same shape passes", Spec{}, grey, grey, func() raster.Image { return grey }, "", 1, 6, 5},
		{"other channels refused", Spec{}, grey, rgb, nil, "channels", 1, 6, 5},
		{"other size refused", Spec{}, grey, img(1, 5, 6, 0), nil, "size", 1, 6, 5},
		{"rgb to grey", Spec{Channels: 1}, rgb, rgb, func() raster.Image { return raster.ToGrey(rgb) }, "", 1, 6, 5},
		{"grey to rgb", Spec{Channels: 3}, rgb, grey, func() raster.Image { return raster.ToRGB(grey) }, "", 3, 6, 5},
		{"resize", Spec{Height: 3, Width: 4}, grey, img(1, 9, 9, 3), func() raster.Image {
			r, _ := resize.Bilinear(img(1, 9, 9, 3), 3, 4)
			return r
		}, "", 1, 3, 4},
		{"convert then resize", Spec{Channels: 1, Height: 3, Width: 4}, grey, rgb, func() raster.Image {
			r, _ := resize.Bilinear(raster.ToGrey(rgb), 3, 4)
			return r
		}, "", 1, 3, 4},
		{"rgba becomes rgb", Spec{}, img(4, 6, 5, 0), img(4, 6, 5, 0), func() raster.Image { return raster.ToRGB(img(4, 6, 5, 0)) }, "", 3, 6, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := New(tc.spec, tc.first)
			if err != nil {
				t.Fatal(err)
			}
			if c, h, w := k.Shape(); c != tc.c || h != tc.h || w != tc.w {
				t.Fatalf("shape %dx%dx%d, want %dx%dx%d", c, h, w, tc.c, tc.h, tc.w)
			}
			got, err := k.Apply(tc.in)
			if tc.want == nil {
				var se *ShapeError
				if !errors.As(err, &se) || se.What != tc.what {
					t.Fatalf("error %v, want a %s ShapeError", err, tc.what)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want()
			if got.C != want.C || got.H != want.H || got.W != want.W || !bytes.Equal(got.Pix, want.Pix) {
				t.Fatalf("got %s, want %s (or other bytes)", got.Shape(), want.Shape())
			}
		})
	}
}

func TestAskedLetsTheRestThrough(t *testing.T) {
	k, err := Asked(Spec{Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []raster.Image{img(3, 4, 5, 0), img(1, 9, 2, 0)} {
		got, err := k.Apply(in)
		if err != nil || got.C != 1 || got.H != in.H || got.W != in.W {
			t.Fatalf("%s gave %s, %v", in.Shape(), got.Shape(), err)
		}
	}
	k, _ = Asked(Spec{Height: 2, Width: 3})
	for _, in := range []raster.Image{img(3, 4, 5, 0), img(1, 9, 2, 0)} {
		got, err := k.Apply(in)
		if err != nil || got.C != in.C || got.H != 2 || got.W != 3 {
			t.Fatalf("%s gave %s, %v", in.Shape(), got.Shape(), err)
		}
	}
}

func TestBadSpecsAreRefused(t *testing.T) {
	for _, s := range []Spec{{Channels: 2}, {Channels: -1}, {Height: 3}, {Width: 3}, {Height: -1, Width: -1}} {
		if _, err := New(s, img(1, 2, 2, 0)); err == nil {
			t.Errorf("spec %+v accepted", s)
		}
	}
}

func TestApplyIsSafeConcurrently(t *testing.T) {
	k, err := New(Spec{Height: 7, Width: 7}, img(3, 20, 20, 0))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := resize.Bilinear(img(3, 20, 20, 5), 7, 7)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got, err := k.Apply(img(3, 20, 20, 5))
				if err != nil || !bytes.Equal(got.Pix, want.Pix) {
					t.Error("concurrent Apply gave other bytes", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
