package arch

import (
	"slices"
	"testing"
)

func TestConvOutHalvesRoundingUp(t *testing.T) {
	// PyTorch's Conv2d(k=3, s=2, p=1): 28 -> 14 -> 7 -> 4, odd sizes round up.
	for _, c := range []struct{ in, out int }{{28, 14}, {14, 7}, {7, 4}, {4, 2}, {1, 1}, {32, 16}} {
		if got := ConvOut(c.in); got != c.out {
			t.Errorf("ConvOut(%d) = %d, want %d", c.in, got, c.out)
		}
	}
}

func TestBackboneNamesTellStageAndPlace(t *testing.T) {
	for _, c := range []struct {
		i, j     int
		conv, bn string
		stride   int
	}{
		{1, 1, "backbone.conv1", "backbone.bn1", 2}, // the names of depth 1, as before depth existed
		{3, 1, "backbone.conv3", "backbone.bn3", 2},
		{1, 2, "backbone.conv1_2", "backbone.bn1_2", 1},
		{2, 4, "backbone.conv2_4", "backbone.bn2_4", 1},
		{12, 3, "backbone.conv12_3", "backbone.bn12_3", 1},
	} {
		if got := ConvName(c.i, c.j); got != c.conv {
			t.Errorf("ConvName(%d, %d) = %q, want %q", c.i, c.j, got, c.conv)
		}
		if got := BNName(c.i, c.j); got != c.bn {
			t.Errorf("BNName(%d, %d) = %q, want %q", c.i, c.j, got, c.bn)
		}
		if got := ConvStride(c.j); got != c.stride {
			t.Errorf("ConvStride(%d) = %d, want %d", c.j, got, c.stride)
		}
	}
}

func TestDefaultSizesAreFreshSlices(t *testing.T) {
	a := DefaultChannels()
	a[0] = 1
	if b := DefaultChannels(); !slices.Equal(b, []int{32, 64, 128}) {
		t.Errorf("DefaultChannels after a caller's write: %v", b)
	}
	p := DefaultProjDims()
	p[1] = 1
	if q := DefaultProjDims(); !slices.Equal(q, []int{256, 256}) {
		t.Errorf("DefaultProjDims after a caller's write: %v", q)
	}
}

func TestFormatSizesIsTheFlagSyntax(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{{nil, ""}, {[]int{7}, "7"}, {DefaultChannels(), "32,64,128"}} {
		if got := FormatSizes(c.in); got != c.want {
			t.Errorf("FormatSizes(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestKnownNamesTheArchitectures(t *testing.T) {
	for _, n := range Names() {
		if !Known(n) {
			t.Errorf("Known(%q) = false", n)
		}
	}
	for _, n := range []string{"", "byol", "SimSiam"} {
		if Known(n) {
			t.Errorf("Known(%q) = true", n)
		}
	}
}

func TestKnownMethodNamesTheMethods(t *testing.T) {
	if !slices.Equal(Methods(), []string{MethodSimSiam, MethodSimCLR}) {
		t.Errorf("Methods() = %v", Methods())
	}
	for _, n := range Methods() {
		if !KnownMethod(n) {
			t.Errorf("KnownMethod(%q) = false", n)
		}
	}
	for _, n := range []string{"", "seed", "SimCLR", "byol"} {
		if KnownMethod(n) {
			t.Errorf("KnownMethod(%q) = true", n)
		}
	}
}
