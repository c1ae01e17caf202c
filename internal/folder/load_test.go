package folder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/decode"
	"github.com/siampipe/siampipe/internal/raster"
)

// delivered is what fn saw: its calls in order.
type delivered struct {
	i     []int
	files []File
	ims   []raster.Image
}

func (d *delivered) fn(i int, f File, im raster.Image) error {
	d.i = append(d.i, i)
	d.files = append(d.files, f)
	d.ims = append(d.ims, im)
	return nil
}

// withProcs runs f with GOMAXPROCS set to n.
func withProcs(n int, f func()) {
	old := runtime.GOMAXPROCS(n)
	defer runtime.GOMAXPROCS(old)
	f()
}

// classTree makes a tree of classes x per grey and RGB PNGs of varied sizes.
func classTree(t testing.TB, classes, per int) string {
	t.Helper()
	files := map[string]string{}
	for c := range classes {
		for j := range per {
			var b []byte
			if j%3 == 2 {
				b = rgbPNG(t, 5+j%4, 3+c, c*100+j)
			} else {
				b = pngBytes(t, 4+j%5, 6+c%3, c*100+j)
			}
			files[fmt.Sprintf("class%d/%03d.png", c, j)] = string(b)
		}
	}
	return tree(t, files)
}

func TestLoadDeliversListingOrderForAnyGOMAXPROCS(t *testing.T) {
	root := classTree(t, 3, 17)
	l, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var first *delivered
	for _, procs := range []int{1, 2, 3} {
		var d delivered
		var st Stats
		withProcs(procs, func() { st, err = Load(context.Background(), l, Options{}, d.fn) })
		if err != nil {
			t.Fatalf("GOMAXPROCS %d: %v", procs, err)
		}
		if st.Decoded != len(l.Files) || len(st.Skipped) != 0 {
			t.Fatalf("GOMAXPROCS %d: stats %+v", procs, st)
		}
		for k, i := range d.i {
			if i != k || d.files[k] != l.Files[k] {
				t.Fatalf("GOMAXPROCS %d: call %d got file %d %+v", procs, k, i, d.files[k])
			}
			want, err := decode.DecodeFile(filepath.Join(root, l.Files[k].Path), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.ims[k], want) {
				t.Fatalf("GOMAXPROCS %d: file %d decoded differently", procs, k)
			}
		}
		if first == nil {
			first = &d
		} else if !reflect.DeepEqual(*first, d) {
			t.Fatalf("GOMAXPROCS %d delivers differently from 1", procs)
		}
	}
}

func TestLoadOneImageFolder(t *testing.T) {
	l, err := Scan(tree(t, map[string]string{"only.png": string(rgbPNG(t, 3, 2, 1))}))
	if err != nil {
		t.Fatal(err)
	}
	var d delivered
	st, err := Load(context.Background(), l, Options{}, d.fn)
	if err != nil || st.Decoded != 1 || len(d.ims) != 1 || d.ims[0].Shape() != "3x2x3" || d.files[0].Label != -1 {
		t.Fatalf("err %v stats %+v delivered %+v", err, st, d)
	}
}

func TestLoadBadFiles(t *testing.T) {
	good := string(pngBytes(t, 4, 4, 1))
	full := pngBytes(t, 9, 9, 2)
	truncated := string(full[:len(full)/2])
	tests := []struct {
		name string
		bad  string // the content of cat/b.png, between a.png and c.png
		want error
	}{
		{"non-image file", "label,name\n1,cat\n", decode.ErrFormat},
		{"empty file", "", decode.ErrFormat},
		{"truncated png", truncated, decode.ErrTruncated},
		{"png header of 100000x100000", string(hugePNG()), decode.ErrTooLarge},
		{"broken symlink", "->missing.png", os.ErrNotExist},
	}
	for _, tc := range tests {
		root := tree(t, map[string]string{"cat/a.png": good, "cat/b.png": tc.bad, "cat/c.png": good})
		l, err := Scan(root)
		if err != nil {
			t.Fatal(err)
		}
		badPath := filepath.Join(root, "cat", "b.png")
		t.Run(tc.name+" stops Load", func(t *testing.T) {
			var d delivered
			st, err := Load(context.Background(), l, Options{}, d.fn)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), badPath) {
				t.Fatalf("got %v, want %v naming %s", err, tc.want, badPath)
			}
			if !reflect.DeepEqual(d.i, []int{0}) || st.Decoded != 1 {
				t.Fatalf("fn called for %v (stats %+v), want just the file before", d.i, st)
			}
		})
		t.Run(tc.name+" skipped with SkipBad", func(t *testing.T) {
			var d delivered
			st, err := Load(context.Background(), l, Options{SkipBad: true}, d.fn)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.i, []int{0, 2}) || st.Decoded != 2 || len(st.Skipped) != 1 ||
				st.Skipped[0].Path != badPath || !errors.Is(st.Skipped[0].Err, tc.want) {
				t.Fatalf("fn called for %v, stats %+v", d.i, st)
			}
		})
	}
}

func TestLoadReportsTheFirstBadFileInListingOrder(t *testing.T) {
	files := map[string]string{}
	for j := range 40 {
		files[fmt.Sprintf("%02d.png", j)] = string(pngBytes(t, 3, 3, j))
	}
	files["17.png"], files["31.png"] = "junk", "junk"
	l, err := Scan(tree(t, files))
	if err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, 2, 3} {
		withProcs(procs, func() {
			var d delivered
			_, err := Load(context.Background(), l, Options{}, d.fn)
			if !errors.Is(err, decode.ErrFormat) || !strings.Contains(err.Error(), "17.png") || len(d.i) != 17 {
				t.Fatalf("GOMAXPROCS %d: error %v after %d calls, want 17.png after 17", procs, err, len(d.i))
			}
		})
	}
}

func TestLoadStopsWhenFnFails(t *testing.T) {
	l, err := Scan(classTree(t, 2, 10))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	_, err = Load(context.Background(), l, Options{}, func(i int, f File, im raster.Image) error {
		calls++
		if i == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 4 {
		t.Fatalf("got %v after %d calls, want fn's error after 4", err, calls)
	}
}

func TestLoadStopsPromptlyWhenCancelled(t *testing.T) {
	l, err := Scan(classTree(t, 4, 200))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var transformed atomic.Int64
	calls, size := 0, 0
	st, err := Load(ctx, l, Options{Transform: func(im raster.Image) (raster.Image, error) {
		transformed.Add(1)
		return im, nil
	}}, func(i int, f File, im raster.Image) error {
		calls++
		size = len(im.Pix)
		if i == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 3 || st.Decoded != 3 {
		t.Fatalf("got %v after %d calls (stats %+v), want context.Canceled after 3", err, calls, st)
	}
	// Load has returned, so its goroutines are done: nothing decodes any more.
	n := transformed.Load()
	time.Sleep(20 * time.Millisecond)
	// The chunk fn was in, what waited in the window, and a chunk per
	// goroutine.
	workers := runtime.GOMAXPROCS(0)
	if transformed.Load() != n || n > int64(1+(1+windowSize(workers)+workers)*chunkFiles(size)) {
		t.Fatalf("%d of %d files decoded after cancelling at the 3rd", transformed.Load(), len(l.Files))
	}
}

func TestLoadAlreadyCancelled(t *testing.T) {
	l, err := Scan(classTree(t, 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var d delivered
	if _, err := Load(ctx, l, Options{}, d.fn); !errors.Is(err, context.Canceled) || len(d.i) != 0 {
		t.Fatalf("got %v after %d calls", err, len(d.i))
	}
}

func TestLoadKeepsABoundedWindowInFlight(t *testing.T) {
	l, err := Scan(classTree(t, 2, 400))
	if err != nil {
		t.Fatal(err)
	}
	var started atomic.Int64
	var ahead int64
	var size int
	_, err = Load(context.Background(), l, Options{Transform: func(im raster.Image) (raster.Image, error) {
		started.Add(1)
		return im, nil
	}}, func(i int, f File, im raster.Image) error {
		if i == 0 {
			size = len(im.Pix)
			time.Sleep(50 * time.Millisecond) // let the workers run as far ahead as they may
			ahead = started.Load()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// File 0, the window's chunks in their slots, and one chunk held by
	// each goroutine waiting for a slot.
	workers := runtime.GOMAXPROCS(0)
	bound := int64(1 + (windowSize(workers)+workers)*chunkFiles(size))
	if ahead > bound || bound >= int64(len(l.Files)) {
		t.Fatalf("%d files decoded while fn held the first, bound %d of %d files", ahead, bound, len(l.Files))
	}
}

func TestLoadTransformsInTheWorkers(t *testing.T) {
	root := classTree(t, 2, 5)
	l, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	invert := func(im raster.Image) (raster.Image, error) {
		out := raster.New(im.C, im.H, im.W)
		for i, v := range im.Pix {
			out.Pix[i] = 255 - v
		}
		return out, nil
	}
	var d delivered
	if _, err := Load(context.Background(), l, Options{Transform: invert}, d.fn); err != nil {
		t.Fatal(err)
	}
	for k, im := range d.ims {
		orig, _ := decode.DecodeFile(filepath.Join(root, l.Files[k].Path), 0)
		want, _ := invert(orig)
		if !reflect.DeepEqual(im, want) {
			t.Fatalf("file %d not transformed", k)
		}
	}

	refuse := errors.New("refused")
	failing := func(im raster.Image) (raster.Image, error) {
		if im.C == 3 {
			return raster.Image{}, refuse
		}
		return im, nil
	}
	_, err = Load(context.Background(), l, Options{Transform: failing}, (&delivered{}).fn)
	if !errors.Is(err, refuse) || !strings.Contains(err.Error(), "002.png") {
		t.Fatalf("got %v, want the transform's error naming class0/002.png", err)
	}
	st, err := Load(context.Background(), l, Options{Transform: failing, SkipBad: true}, (&delivered{}).fn)
	if err != nil || st.Decoded != 8 || len(st.Skipped) != 2 {
		t.Fatalf("SkipBad: got %v, stats %+v", err, st)
	}
}

func TestLoadReportsProgress(t *testing.T) {
	l, err := Scan(tree(t, map[string]string{"a.png": string(pngBytes(t, 2, 2, 0)), "b.txt": "x", "c.png": string(pngBytes(t, 2, 2, 1))}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	_, err = Load(context.Background(), l, Options{SkipBad: true, Progress: func(done, total int) {
		got = append(got, fmt.Sprintf("%d/%d", done, total))
	}}, (&delivered{}).fn)
	if want := []string{"1/3", "2/3", "3/3"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v %v, want %v", err, got, want)
	}
}

func TestLoadAppliesMaxPixels(t *testing.T) {
	l, err := Scan(tree(t, map[string]string{"small.png": string(pngBytes(t, 4, 4, 0)), "big.png": string(pngBytes(t, 5, 4, 0))}))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Load(context.Background(), l, Options{MaxPixels: 16, SkipBad: true}, (&delivered{}).fn)
	if err != nil || st.Decoded != 1 || len(st.Skipped) != 1 || !errors.Is(st.Skipped[0].Err, decode.ErrTooLarge) {
		t.Fatalf("got %v, stats %+v", err, st)
	}
}

// BenchmarkLoad decodes a tree of 28x28 grey PNGs (FashionMNIST's shape)
// on GOMAXPROCS goroutines; the images/s metric compares with
// bench/fetch_folder_pil.py.
func BenchmarkLoad(b *testing.B) {
	const classes, per = 10, 200
	root := b.TempDir()
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for c := range classes {
		dir := filepath.Join(root, fmt.Sprintf("%d-class", c))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for j := range per {
			// A garment-like blob on black, varying per file.
			for y := 0; y < 28; y++ {
				for x := 0; x < 28; x++ {
					v := 0
					if dx, dy := x-14, y-14; dx*dx+dy*dy < 100+c*8 {
						v = 80 + (x*7+y*13+j*5+c*11)%170
					}
					img.Pix[y*28+x] = byte(v)
				}
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.png", j)), buf.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	l, err := Scan(root)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		sum := 0
		if _, err := Load(context.Background(), l, Options{}, func(i int, f File, im raster.Image) error {
			sum += int(im.Pix[14*28+14])
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(l.Files))/b.Elapsed().Seconds(), "images/s")
}

// TestLoadKeepsOrderWhenChunksFinishOutOfOrder slows some files' decoding
// (a Transform that sleeps for some images) so that later chunks finish
// before earlier ones, several windows deep: fn must still get every file,
// in listing order, with its own image. (Without the window's tokens, a
// chunk window places ahead could take an earlier chunk's slot.)
func TestLoadKeepsOrderWhenChunksFinishOutOfOrder(t *testing.T) {
	root := classTree(t, 3, 400)
	l, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]raster.Image, len(l.Files))
	for i, f := range l.Files {
		if want[i], err = decode.DecodeFile(filepath.Join(root, f.Path), 0); err != nil {
			t.Fatal(err)
		}
	}
	// About one file in 50, told by a hash of its pixels, takes 30 ms: its
	// chunk finishes long after the next few.
	slow := func(im raster.Image) (raster.Image, error) {
		h := uint32(2166136261)
		for _, v := range im.Pix {
			h = (h ^ uint32(v)) * 16777619
		}
		if h%50 == 0 {
			time.Sleep(30 * time.Millisecond)
		}
		return im, nil
	}
	for _, procs := range []int{2, 3, 4} {
		var d delivered
		withProcs(procs, func() { _, err = Load(context.Background(), l, Options{Transform: slow}, d.fn) })
		if err != nil {
			t.Fatal(err)
		}
		if len(d.i) != len(l.Files) {
			t.Fatalf("GOMAXPROCS %d: %d of %d files", procs, len(d.i), len(l.Files))
		}
		for k := range d.i {
			if d.i[k] != k || !reflect.DeepEqual(d.ims[k], want[k]) {
				t.Fatalf("GOMAXPROCS %d: call %d got file %d, or another image", procs, k, d.i[k])
			}
		}
	}
}
