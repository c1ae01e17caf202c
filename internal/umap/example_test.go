package umap_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/siampipe/siampipe/internal/neighbors"
	"github.com/siampipe/siampipe/internal/umap"
)

func ExampleFit() {
	// 200 points in 4-D: two well-separated Gaussian clusters.
	const n, dim = 200, 4
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			x[i*dim+j] = float32(r.NormFloat64() + float64(i%2)*50)
		}
	}
	res, err := umap.Fit(x, n, dim, umap.Config{Components: 3, Neighbors: 10, Metric: neighbors.Euclidean, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Embedding), res.Epochs, res.Components)
	fmt.Printf("a=%.3f b=%.3f\n", res.A, res.B)
	// Output:
	// 600 500 2
	// a=1.577 b=0.895
}
