package randaug_test

import (
	"fmt"
	"testing"

	"github.com/siampipe/siampipe/internal/randaug"
)

func ExampleAugmenter_Augment() {
	ops, err := randaug.ParseOps("Solarize,Posterize")
	if err != nil {
		panic(err)
	}
	a, err := randaug.New(2, 4, randaug.Config{NumOps: 2, Magnitude: 9, Ops: ops})
	if err != nil {
		panic(err)
	}
	img := []uint8{0, 50, 100, 150, 180, 200, 250, 255}
	view := make([]uint8, len(img))
	r := randaug.NewRand(1, 2, 3) // e.g. seed, epoch, index
	a.Augment(view, img, &r, a.NewScratch())
	fmt.Println(len(view), a.Value(randaug.Solarize), a.Value(randaug.Posterize))
	// Output: 8 178.5 7
}

func FuzzParseOps(f *testing.F) {
	f.Add("Solarize,Posterize")
	f.Add(" shearx,,ROTATE ")
	f.Add("Invert")
	f.Fuzz(func(t *testing.T, list string) {
		ops, err := randaug.ParseOps(list)
		if err != nil {
			return
		}
		again, err := randaug.ParseOps(randaug.FormatOps(ops))
		if err != nil || randaug.FormatOps(again) != randaug.FormatOps(ops) {
			t.Fatalf("%q: FormatOps does not round-trip: %v", list, err)
		}
	})
}

// ExampleResizer_ResizedCrop draws a box, then resizes the centre of an image
// back to full size and mirrors it; torchvision's
// F.hflip(F.resized_crop(img, 1, 1, 2, 2, [4, 4])) gives the same pixels.
func ExampleResizer_ResizedCrop() {
	img := []uint8{
		0, 0, 0, 0,
		0, 100, 200, 0,
		0, 40, 80, 0,
		0, 0, 0, 0,
	}
	z, err := randaug.NewResizer(4, 4)
	if err != nil {
		panic(err)
	}
	view := make([]uint8, len(img))
	r := randaug.NewRand(1, 2, 3, 0) // e.g. seed, epoch, index, view
	top, left, ch, cw := randaug.CropParams(&r, 4, 4, 0.2)
	fmt.Println("random box:", top, left, ch, cw)
	z.ResizedCrop(view, img, 1, 1, 2, 2, z.NewScratch()) // the bright 2x2 centre, back to 4x4
	randaug.HFlip(view, view, 4, 4)
	for i := 0; i < 4; i++ {
		fmt.Println(view[4*i : 4*i+4])
	}
	// Output:
	// random box: 0 2 3 2
	// [200 175 125 100]
	// [170 149 106 85]
	// [110 96 69 55]
	// [80 70 50 40]
}
