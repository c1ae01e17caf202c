package infer

import (
	"context"
	"fmt"
)

// Batch is one unit of work of Run: N images in, N feature rows out. Index
// and Label ride along untouched for the caller.
type Batch struct {
	N      int
	Index  []int64
	Label  []uint8
	Pixels []uint8   // N images of channels*height*width bytes (CHW)
	Out    []float32 // N*Dim floats, filled by Run
}

// Reset empties b for refilling, keeping its memory.
func (b *Batch) Reset() {
	b.N, b.Index, b.Label, b.Pixels, b.Out = 0, b.Index[:0], b.Label[:0], b.Pixels[:0], b.Out[:0]
}

// Run computes the features of a stream of batches on workers goroutines
// (at least 1) and hands them on in the order they were read.
//
// fill is called from one goroutine with an empty batch (Reset) to fill with
// up to however many images the caller batches; it returns false at the end
// of the input. emit is called from the calling goroutine with each computed
// batch, in input order; the batch is reused after emit returns. At most
// 2*workers+2 batches exist at a time, so memory stays bounded however long
// the input. Run stops at the first error of fill or emit, or when ctx is
// done, and returns it.
func (m *Model) Run(ctx context.Context, workers int, fill func(*Batch) (bool, error), emit func(*Batch) error) error {
	workers = max(workers, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type job struct {
		b    *Batch
		done chan struct{}
	}
	nb := 2*workers + 2
	free := make(chan *Batch, nb)
	for range nb {
		free <- &Batch{}
	}
	jobs := make(chan job, nb)
	order := make(chan job, nb)
	readErr := make(chan error, 1)

	go func() { // reader
		defer close(order)
		defer close(jobs)
		for {
			var b *Batch
			select {
			case b = <-free:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
			b.Reset()
			ok, err := fill(b)
			if err != nil {
				readErr <- err
				return
			}
			if !ok || b.N == 0 {
				readErr <- nil
				return
			}
			j := job{b, make(chan struct{})}
			order <- j
			jobs <- j
		}
	}()
	for range workers {
		go func() {
			w := m.NewWorker()
			for j := range jobs {
				if ctx.Err() == nil {
					w.compute(j.b)
				}
				close(j.done)
			}
		}()
	}

	var err error
	for j := range order { // writer: the calling goroutine
		<-j.done
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			if err = emit(j.b); err != nil {
				cancel()
			}
		}
		free <- j.b
	}
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return err
}

func (w *Worker) compute(b *Batch) {
	m := w.m
	if len(b.Pixels) != b.N*m.imageLen() {
		panic(fmt.Sprintf("infer: batch of %d images has %d pixel bytes, want %d", b.N, len(b.Pixels), b.N*m.imageLen()))
	}
	if cap(b.Out) < b.N*m.dim {
		b.Out = make([]float32, b.N*m.dim)
	}
	b.Out = b.Out[:b.N*m.dim]
	w.Forward(b.Pixels, b.N, b.Out)
}
