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
