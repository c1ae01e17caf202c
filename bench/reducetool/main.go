// Command reducetool prepares inputs for bench/reduce.sh and converts Arrow
// streams to .npy for the umap-learn side (pyarrow is not installed).
//
//	reducetool pixels -dir DIR -split test|all -o X.arrows   FashionMNIST pixels/255 as a features stream
//	reducetool synth  -dir DIR -split test|all -o X.arrows   2048-d stand-in: relu(W pixels + c), W fixed by a seed
//	reducetool npy    -i X.arrows -o PREFIX                  PREFIX.X.npy (float32 rows) and PREFIX.y.npy (uint8 labels)
//	reducetool knn    -i X.arrows [-k 10 -metric cosine]     NN-descent vs exact kNN: wall times and recall
//
// It reads the IDX files itself until the fetch stage exists.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/siampipe/siampipe/internal/contract"
	"github.com/siampipe/siampipe/internal/fmnist"
	"github.com/siampipe/siampipe/internal/neighbors"
)

func knnRecall(in string, k int, metric string, leaf, maxCand int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := contract.ReadMatrix(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return err
	}
	mt, err := neighbors.ParseMetric(metric)
	if err != nil {
		return err
	}
	opt := neighbors.Options{K: k, Metric: mt, LeafSize: leaf, MaxCandidates: maxCand}
	t0 := time.Now()
	ap, err := neighbors.Approximate(m.Data, m.Rows, m.Dim, opt)
	if err != nil {
		return err
	}
	ta := time.Since(t0)
	t0 = time.Now()
	ex, err := neighbors.Exact(m.Data, m.Rows, m.Dim, opt)
	if err != nil {
		return err
	}
	te := time.Since(t0)
	fmt.Printf("%s: %d x %d, k=%d %s: nn-descent %.2fs, exact %.2fs, recall %.4f\n",
		filepath.Base(in), m.Rows, m.Dim, k, metric, ta.Seconds(), te.Seconds(), neighbors.Recall(ap, ex))
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: reducetool pixels|synth|npy|knn|concat [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "/usr/share/datasets/fashion-mnist", "FashionMNIST IDX directory")
	split := fs.String("split", "test", "test (10,000) or all (70,000: train then test)")
	in := fs.String("i", "", "input .arrows")
	out := fs.String("o", "", "output file or prefix")
	dimF := fs.Int("dim", 2048, "synth: feature width")
	k := fs.Int("k", 10, "knn: neighbours, the point itself included")
	metric := fs.String("metric", "cosine", "knn: cosine or euclidean")
	leaf := fs.Int("leaf", 0, "knn: rp-tree leaf size (0 = default)")
	maxCand := fs.Int("max-candidates", 0, "knn: NN-descent candidates (0 = default)")
	fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "pixels", "synth":
		err = writeFeatures(*dir, *split, *out, os.Args[1] == "synth", *dimF)
	case "npy":
		err = toNpy(*in, *out)
	case "knn":
		err = knnRecall(*in, *k, *metric, *leaf, *maxCand)
	case "concat":
		err = concat(*out, fs.Args())
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "reducetool:", err)
		os.Exit(1)
	}
}

func load(dir, split string) (pix []byte, lab []byte, err error) {
	splits := []string{"test"}
	if split == "all" {
		splits = []string{"train", "test"}
	} else if split != "test" {
		return nil, nil, fmt.Errorf("split %q: want test or all", split)
	}
	for _, sp := range splits {
		im, lb, err := fmnist.Locate(dir, sp)
		if err != nil {
			return nil, nil, err
		}
		d, err := fmnist.Load(im, lb)
		if err != nil {
			return nil, nil, err
		}
		pix = append(pix, d.Pixels...)
		lab = append(lab, d.Labels...)
	}
	return pix, lab, nil
}

func writeFeatures(dir, split, out string, synth bool, dim int) error {
	pix, lab, err := load(dir, split)
	if err != nil {
		return err
	}
	const p = 784
	n := len(lab)
	d := p
	var w, c []float32
	if synth {
		d = dim
		r := rand.New(rand.NewPCG(2048, 1))
		w = make([]float32, d*p)
		c = make([]float32, d)
		for i := range w {
			w[i] = float32(r.NormFloat64() / math.Sqrt(p))
		}
		for i := range c {
			c[i] = float32(r.NormFloat64() * 0.5)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	src := "fashion-mnist pixels/255"
	if synth {
		src = fmt.Sprintf("synthetic relu(W x + c), W %dx784 N(0,1/784), c N(0,0.25), seed 2048", d)
	}
	fw, err := contract.NewFeaturesWriter(bw, d, contract.Meta{contract.MetaSource: src, contract.MetaSplit: split}, contract.Options{})
	if err != nil {
		return err
	}
	// rows computed in parallel blocks, written in order
	const blk = 256
	rows := make([]float32, blk*d)
	for b0 := 0; b0 < n; b0 += blk {
		b1 := min(n, b0+blk)
		var wg sync.WaitGroup
		for g := 0; g < runtime.GOMAXPROCS(0); g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				x := make([]float32, p)
				for i := b0 + g; i < b1; i += runtime.GOMAXPROCS(0) {
					row := rows[(i-b0)*d : (i-b0+1)*d]
					for j := 0; j < p; j++ {
						x[j] = float32(pix[i*p+j]) / 255
					}
					if !synth {
						copy(row, x)
						continue
					}
					for o := 0; o < d; o++ {
						s := c[o]
						wr := w[o*p : (o+1)*p]
						for j, v := range x {
							s += wr[j] * v
						}
						row[o] = max(s, 0)
					}
				}
			}(g)
		}
		wg.Wait()
		for i := b0; i < b1; i++ {
			if err := fw.Append(int64(i), lab[i], rows[(i-b0)*d:(i-b0+1)*d]); err != nil {
				return err
			}
		}
	}
	if err := fw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// toNpy writes a features, images or coords stream as two .npy files.
func toNpy(in, prefix string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := contract.NewReader(bufio.NewReaderSize(f, 1<<20), contract.KindFeatures, contract.KindImages, contract.KindCoords)
	if err != nil {
		return err
	}
	defer rd.Release()
	var data []float32
	var lab []uint8
	dim := 0
	for rd.Next() {
		switch rd.Kind() {
		case contract.KindImages:
			b := rd.Images()
			dim = rd.Height() * rd.Width()
			for _, v := range b.Pixels {
				data = append(data, float32(v)/255)
			}
			lab = append(lab, b.Label...)
		case contract.KindCoords:
			b := rd.Coords()
			dim = rd.Dim()
			data = append(data, b.Values...)
			lab = append(lab, b.Label...)
		default:
			b := rd.Features()
			dim = rd.Dim()
			data = append(data, b.Values...)
			lab = append(lab, b.Label...)
		}
	}
	if err := rd.Err(); err != nil {
		return err
	}
	n := len(lab)
	if err := writeNpy(prefix+".X.npy", "<f4", []int{n, dim}, func(w io.Writer) error {
		return binary.Write(w, binary.LittleEndian, data)
	}); err != nil {
		return err
	}
	return writeNpy(prefix+".y.npy", "|u1", []int{n}, func(w io.Writer) error {
		_, err := w.Write(lab)
		return err
	})
}

func writeNpy(path, descr string, shape []int, body func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	sh := fmt.Sprintf("(%d,)", shape[0])
	if len(shape) == 2 {
		sh = fmt.Sprintf("(%d, %d)", shape[0], shape[1])
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sh)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(hdr)))
	bw.WriteString(hdr)
	if err := body(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// concat writes the rows of several features streams (e.g. embed's output
// for the train and the test split) as one features stream, in order.
func concat(out string, ins []string) error {
	if out == "" || len(ins) == 0 {
		return fmt.Errorf("concat: usage: reducetool concat -o OUT IN.arrows...")
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	var w *contract.FeaturesWriter
	for _, p := range ins {
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		m, err := contract.ReadMatrix(in)
		in.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if w == nil {
			if w, err = contract.NewFeaturesWriter(bw, m.Dim, contract.Meta{contract.MetaSplit: "all"}, contract.Options{}); err != nil {
				return err
			}
		}
		for i := 0; i < m.Rows; i++ {
			if err := w.Append(m.Index[i], m.Label[i], m.Row(i)); err != nil {
				return err
			}
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
