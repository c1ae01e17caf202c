package randaug

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseOps(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    string
		wantErr string
	}{
		{"Solarize,Posterize", "Solarize,Posterize", ""},
		{" shearx , ROTATE,", "ShearX,Rotate", ""},
		{"Equalize,Equalize", "Equalize,Equalize", ""},
		{"Invert", "", "unknown op"},
		{"", "", "empty op list"},
		{",", "", "empty op list"},
	} {
		ops, err := ParseOps(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseOps(%q) error %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || FormatOps(ops) != c.want {
			t.Errorf("ParseOps(%q) = %v, %v; want %s", c.in, FormatOps(ops), err, c.want)
		}
	}
	if FormatOps(AllOps()) != strings.Join(opNames[:], ",") || len(AllOps()) != 14 {
		t.Error("AllOps is not the 14 ops in torchvision's order")
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	for _, c := range []struct {
		h, w int
		cfg  Config
		want string
	}{
		{0, 28, Config{}, "image size"},
		{28, 28, Config{NumOps: -1}, "num-ops"},
		{28, 28, Config{Bins: 1}, "bins"},
		{28, 28, Config{Magnitude: 31}, "magnitude"},
		{28, 28, Config{Magnitude: -1}, "magnitude"},
		{28, 28, Config{Ops: []Op{}}, "empty op list"},
		{28, 28, Config{Ops: []Op{numOps}}, "unknown op"},
	} {
		if _, err := New(c.h, c.w, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%d, %d, %+v) error %v, want %q", c.h, c.w, c.cfg, err, c.want)
		}
	}
}

func TestConfigZeroValueMeansDefaults(t *testing.T) {
	a, err := New(28, 28, Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := a.Config()
	if c.NumOps != 5 || c.Bins != 31 || c.Magnitude != 0 || len(c.Ops) != 14 {
		t.Errorf("zero Config became %+v", c)
	}
}

func testImage(h, w int) []uint8 {
	r := NewRand(1)
	p := make([]uint8, h*w)
	for i := range p {
		p[i] = uint8(r.Uint64())
	}
	return p
}

// TestAugmentIsTheSequenceOfDrawnOps replays the draws Augment makes (op
// index, then a sign for signed ops) with Apply.
func TestAugmentIsTheSequenceOfDrawnOps(t *testing.T) {
	for _, ops := range [][]Op{AllOps(), {Solarize, Posterize}, {Rotate}} {
		a, err := New(20, 32, Config{NumOps: 5, Magnitude: 13, Ops: ops})
		if err != nil {
			t.Fatal(err)
		}
		src := testImage(20, 32)
		s := a.NewScratch()
		for seed := uint64(0); seed < 200; seed++ {
			r := NewRand(seed)
			got := make([]uint8, len(src))
			a.Augment(got, src, &r, s)

			r = NewRand(seed)
			want := bytes.Clone(src)
			for k := 0; k < 5; k++ {
				op := ops[r.Intn(len(ops))]
				neg := op.Signed() && r.Uint64()>>63 == 1
				a.Apply(want, want, op, neg)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("ops %s seed %d: Augment differs from its drawn ops applied in turn", FormatOps(ops), seed)
			}
		}
	}
}

func TestAugmentDrawsOpsUniformlyWithBothSigns(t *testing.T) {
	a, err := New(28, 28, Config{NumOps: 1, Magnitude: 9})
	if err != nil {
		t.Fatal(err)
	}
	var count [numOps][2]int
	r := NewRand(3)
	const n = 140000
	for i := 0; i < n; i++ {
		op := a.ops[r.Intn(len(a.ops))]
		neg := 0
		if op.Signed() && r.Uint64()>>63 == 1 {
			neg = 1
		}
		count[op][neg]++
	}
	for op, c := range count {
		if tot := c[0] + c[1]; tot < n/14*9/10 || tot > n/14*11/10 {
			t.Errorf("%v drawn %d times of %d, want about %d", Op(op), tot, n, n/14)
		}
		if Op(op).Signed() && (c[1] < c[0]*9/10 || c[1] > c[0]*11/10) {
			t.Errorf("%v: %d negative, %d positive draws", Op(op), c[1], c[0])
		}
	}
}

func TestAugmentDoesNotAllocate(t *testing.T) {
	a, err := New(28, 28, Config{NumOps: 5, Magnitude: 9})
	if err != nil {
		t.Fatal(err)
	}
	src, dst := testImage(28, 28), make([]uint8, 784)
	s := a.NewScratch()
	r := NewRand(1)
	if n := testing.AllocsPerRun(1000, func() { a.Augment(dst, src, &r, s) }); n != 0 {
		t.Errorf("Augment allocates %v times per view", n)
	}
}

func TestRandIntnIsInRangeAndUniform(t *testing.T) {
	r := NewRand(9)
	var c [7]int
	for i := 0; i < 70000; i++ {
		v := r.Intn(7)
		if v < 0 || v >= 7 {
			t.Fatalf("Intn(7) = %d", v)
		}
		c[v]++
	}
	for v, n := range c {
		if n < 9000 || n > 11000 {
			t.Errorf("Intn(7) gave %d %d times of 70000", v, n)
		}
	}
	a, b := NewRand(1, 2), NewRand(2, 1)
	if a.Uint64() == b.Uint64() {
		t.Error("NewRand(1, 2) and NewRand(2, 1) start alike")
	}
}

// BenchmarkAugment is one goroutine making views of a real FashionMNIST
// image, num_ops 5, magnitude 9 (per op: BenchmarkOp).
func BenchmarkAugment(b *testing.B) {
	g := loadGolden(b)
	src := unb64(b, g.Images[0].Pixels)
	a, err := New(28, 28, Config{NumOps: 5, Magnitude: 9})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]uint8, 784)
	s := a.NewScratch()
	r := NewRand(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a.Augment(dst, src, &r, s)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
}

func BenchmarkOp(b *testing.B) {
	g := loadGolden(b)
	src := unb64(b, g.Images[0].Pixels)
	a, err := New(28, 28, Config{NumOps: 5, Magnitude: 9})
	if err != nil {
		b.Fatal(err)
	}
	in := make([]uint8, 785)
	copy(in, src)
	out := make([]uint8, 785)
	for _, op := range AllOps() {
		b.Run(op.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				a.apply(op, i&1, out, in)
			}
		})
	}
}
