package cpufeat

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestResolveLowersButNeverRaises(t *testing.T) {
	tests := []struct {
		name            string
		cpu, build      Level
		env             string
		detected, limit Level
		bad             bool
	}{
		{"unset: the CPU's best", AVX512, AVX512, "", AVX512, AVX512, false},
		{"blank is unset", AVX2, AVX512, "  ", AVX2, AVX2, false},
		{"avx2 on an AVX-512 CPU", AVX512, AVX512, "avx2", AVX512, AVX2, false},
		{"generic on an AVX-512 CPU", AVX512, AVX512, "generic", AVX512, Generic, false},
		{"case and spaces ignored", AVX512, AVX512, " AVX2\n", AVX512, AVX2, false},
		{"avx512 on an AVX2 CPU stays avx2", AVX2, AVX512, "avx512", AVX2, AVX2, false},
		{"avx512 on an old CPU stays generic", Generic, AVX512, "avx512", Generic, Generic, false},
		{"purego build: generic whatever the CPU", AVX512, Generic, "", Generic, Generic, false},
		{"purego build ignores avx512", AVX512, Generic, "avx512", Generic, Generic, false},
		{"unknown name: detected level and an error", AVX512, AVX512, "avx3", AVX512, AVX512, true},
		{"a near miss is unknown", AVX512, AVX512, "avx-512", AVX512, AVX512, true},
		{"none is not a name", AVX2, AVX512, "none", AVX2, AVX2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, l, err := resolve(tt.cpu, tt.build, tt.env)
			if d != tt.detected || l != tt.limit {
				t.Errorf("resolve(%v, %v, %q) = %v, %v; want %v, %v", tt.cpu, tt.build, tt.env, d, l, tt.detected, tt.limit)
			}
			if (err != nil) != tt.bad {
				t.Fatalf("error %v, want error: %v", err, tt.bad)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, ErrUnknownLevel) {
				t.Errorf("error %v does not wrap ErrUnknownLevel", err)
			}
			// One line that names the variable, the bad value and the fix.
			msg := err.Error()
			for _, want := range []string{EnvVar, tt.env, "avx512, avx2 or generic", "unset"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line", msg)
			}
		})
	}
}

func TestParseLevelRoundTripsNames(t *testing.T) {
	for _, l := range []Level{Generic, AVX2, AVX512} {
		got, err := ParseLevel(l.String())
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", l.String(), got, err, l)
		}
	}
	if _, err := ParseLevel("sse4"); !errors.Is(err, ErrUnknownLevel) {
		t.Errorf("ParseLevel(sse4): %v, want ErrUnknownLevel", err)
	}
	if s := Level(7).String(); s != "Level(7)" {
		t.Errorf("Level(7).String() = %q", s)
	}
}

func TestFeaturesLevelNeedsWhatTheKernelsUse(t *testing.T) {
	all := Features{AVX2: true, FMA: true, AVX512F: true, AVX512BW: true, AVX512DQ: true, AVX512VL: true}
	tests := []struct {
		name string
		f    Features
		want Level
	}{
		{"everything", all, AVX512},
		{"F and VL suffice", Features{AVX2: true, FMA: true, AVX512F: true, AVX512VL: true}, AVX512},
		// Knights Landing: AVX-512F without VL; nnops masks 256-bit tails.
		{"F without VL", Features{AVX2: true, FMA: true, AVX512F: true}, AVX2},
		{"AVX2 and FMA", Features{AVX2: true, FMA: true}, AVX2},
		{"AVX2 without FMA", Features{AVX2: true}, Generic},
		{"FMA without AVX2", Features{FMA: true}, Generic},
		{"nothing", Features{}, Generic},
	}
	for _, tt := range tests {
		if got := tt.f.Level(); got != tt.want {
			t.Errorf("%s: %+v.Level() = %v, want %v", tt.name, tt.f, got, tt.want)
		}
	}
}

func TestSetIsCappedAtTheLimitAndRestores(t *testing.T) {
	limit := Limit()
	if Current() != limit {
		t.Fatalf("Current() = %v before any Set, want the limit %v", Current(), limit)
	}
	restore := Set(Generic)
	if Current() != Generic {
		t.Errorf("after Set(Generic): %v", Current())
	}
	inner := Set(AVX512)
	if Current() != limit {
		t.Errorf("Set(AVX512) with limit %v: %v", limit, Current())
	}
	inner()
	if Current() != Generic {
		t.Errorf("inner restore: %v, want generic", Current())
	}
	restore()
	if Current() != limit {
		t.Errorf("restore: %v, want %v", Current(), limit)
	}
	defer Set(Level(-3))()
	if Current() != Generic {
		t.Errorf("Set(-3): %v, want generic", Current())
	}
}

func TestLevelsRunFromGenericToTheLimit(t *testing.T) {
	ls := Levels()
	if len(ls) == 0 || ls[0] != Generic || ls[len(ls)-1] != Limit() || len(ls) != int(Limit())+1 {
		t.Errorf("Levels() = %v with limit %v", ls, Limit())
	}
	if Limit() > Detected() || Detected() > Host().Level() || Detected() > built {
		t.Errorf("limit %v, detected %v, CPU %v, build %v: a level above what runs", Limit(), Detected(), Host().Level(), built)
	}
}

// TestEnvironmentIsReadAtStartUp runs this test binary again with
// SIAMPIPE_SIMD set, and checks what the child reports.
func TestEnvironmentIsReadAtStartUp(t *testing.T) {
	if os.Getenv("CPUFEAT_CHILD") != "" {
		t.Skip("child process")
	}
	tests := []struct {
		env, want string
	}{
		{"generic", "current=generic limit=generic check=<nil>"},
		{"avx512", "current=" + Detected().String() + " limit=" + Detected().String() + " check=<nil>"},
		{"avx-2", "current=" + Detected().String() + " limit=" + Detected().String() + " check=unknown"},
	}
	if Detected() >= AVX2 {
		tests = append(tests, struct{ env, want string }{"avx2", "current=avx2 limit=avx2 check=<nil>"})
	}
	for _, tt := range tests {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildReport$", "-test.v")
		cmd.Env = append(os.Environ(), "CPUFEAT_CHILD=1", EnvVar+"="+tt.env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%s: %v\n%s", EnvVar, tt.env, err, out)
		}
		if !strings.Contains(string(out), "report: "+tt.want) {
			t.Errorf("%s=%s: child says\n%s\nwant %q", EnvVar, tt.env, out, tt.want)
		}
	}
}

// TestChildReport prints what the process decided, for
// TestEnvironmentIsReadAtStartUp.
func TestChildReport(t *testing.T) {
	if os.Getenv("CPUFEAT_CHILD") == "" {
		t.Skip("run by TestEnvironmentIsReadAtStartUp")
	}
	check := "<nil>"
	if err := Check(); errors.Is(err, ErrUnknownLevel) {
		check = "unknown"
	} else if err != nil {
		check = err.Error()
	}
	t.Logf("report: current=%v limit=%v check=%s", Current(), Limit(), check)
}

func TestDescribeSaysWhyTheLevelIsLow(t *testing.T) {
	defer Set(Generic)()
	d := Describe()
	if !strings.HasPrefix(d, "generic") {
		t.Errorf("Describe() = %q, want it to start with generic", d)
	}
	if Limit() > Generic && !strings.Contains(d, "set from "+Limit().String()) {
		t.Errorf("Describe() = %q does not say the program lowered it", d)
	}
	if built == Generic && !strings.Contains(d, "purego") && !strings.Contains(d, "no kernels") {
		t.Errorf("Describe() = %q does not name the build", d)
	}
	if !slices.Contains(Levels(), Current()) {
		t.Errorf("current %v not among %v", Current(), Levels())
	}
}
