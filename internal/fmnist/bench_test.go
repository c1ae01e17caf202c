package fmnist

import "testing"

// BenchmarkLoadTrain decodes and validates the train split of the Debian
// package's files (images and labels, gzip).
func BenchmarkLoadTrain(b *testing.B) {
	im, lb, err := Locate(DebianDir, "train")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := Load(im, lb); err != nil {
			b.Fatal(err)
		}
	}
}
