package trainlog

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestReadParsesTrainLines(t *testing.T) {
	in := `{"epoch":1,"step":1,"loss":-0.25,"lr":0.05,"z_std":0.02,"step_ms":310.5,"images_per_s":825.1}

{"epoch":1,"step":2,"loss":-0.5,"lr":0.05,"z_std":0.021,"step_ms":300,"images_per_s":850,"extra":"ignored"}
`
	ms, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{Epoch: 1, Step: 1, Loss: -0.25, LR: 0.05, ZStd: 0.02, StepMS: 310.5, ImagesPerS: 825.1},
		{Epoch: 1, Step: 2, Loss: -0.5, LR: 0.05, ZStd: 0.021, StepMS: 300, ImagesPerS: 850},
	}
	if len(ms) != len(want) || ms[0] != want[0] || ms[1] != want[1] {
		t.Errorf("got %+v, want %+v", ms, want)
	}
}

func TestEncodedRecordsReadBack(t *testing.T) {
	recs := []Record{
		{Epoch: 1, Step: 10, Loss: -0.125, LR: 0.2, ZStd: 0.0625, StepMS: 130.5, ImagesPerS: 1961.7},
		{Epoch: 2, Step: 20, Loss: -0.5, LR: 0.1, ZStd: 0.06, StepMS: 129, ImagesPerS: 1984.5},
	}
	var b bytes.Buffer
	e := NewEncoder(&b)
	for _, r := range recs {
		if err := e.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(b.String(), "\n"); n != len(recs) {
		t.Fatalf("%d lines for %d records:\n%s", n, len(recs), b.String())
	}
	for _, k := range []string{`"epoch":`, `"step":`, `"loss":`, `"lr":`, `"z_std":`, `"step_ms":`, `"images_per_s":`} {
		if !strings.Contains(b.String(), k) {
			t.Errorf("log lacks %s: %s", k, b.String())
		}
	}
	got, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != recs[0] || got[1] != recs[1] {
		t.Errorf("read back %+v, want %+v", got, recs)
	}
}

func TestReadRejectsWhatIsNotAMetricsLog(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		is       error
		want     string
	}{
		{"empty", "", ErrNoMetrics, "no metrics"},
		{"only blank lines", "\n\n  \n", ErrNoMetrics, "no metrics"},
		{"not JSON", "{\"loss\":1}\nepoch 1 loss 0.5\n", ErrNotMetrics, "line 2"},
		{"no loss", `{"epoch":1,"step":3}`, ErrNotMetrics, `no "loss"`},
		{"loss of the wrong type", `{"loss":"low"}`, ErrNotMetrics, "line 1"},
		{"an Arrow stream instead", "ARROW1\x00\x00\xff\xff", ErrNotMetrics, "line 1"},
		{"step going back after a resume", "{\"step\":10,\"loss\":1}\n{\"step\":15,\"loss\":1}\n{\"step\":11,\"loss\":1}\n", ErrStepOrder, "line 3: steps go backwards: step 11 after step 15"},
		{"step repeated", "{\"step\":10,\"loss\":1}\n{\"step\":10,\"loss\":1}\n", ErrStepOrder, "line 2"},
		{"steps after lines without", "{\"step\":4,\"loss\":1}\n{\"loss\":1}\n", ErrStepOrder, "line 2"},
		{"infinite loss", `{"step":1,"loss":1e400}`, ErrNotMetrics, "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := Read(strings.NewReader(tc.in))
			if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one wrapping %v and containing %q", err, tc.is, tc.want)
			}
			if ms != nil {
				t.Errorf("records %v returned with the error", ms)
			}
		})
	}
}

func TestReadTakesLogsWithoutStepsInLineOrder(t *testing.T) {
	ms, err := Read(strings.NewReader("{\"loss\":3}\n{\"loss\":2}\n{\"loss\":1,\"step\":1}\n"))
	if err != nil || len(ms) != 3 {
		t.Fatalf("%v, %v: want three records", ms, err)
	}
}

func TestCutAfterKeepsTheStepsUpToTheCheckpoint(t *testing.T) {
	line := func(step int) string {
		return fmt.Sprintf(`{"epoch":%d,"step":%d,"loss":-0.%d,"lr":0.2,"z_std":0.06,"step_ms":131.25,"images_per_s":1950}`+"\n", (step-1)/5+1, step, step)
	}
	lines := func(from, to int) string {
		var s string
		for i := from; i <= to; i++ {
			s += line(i)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		in      string
		step    int
		want    string
		dropped int
	}{
		{"killed at 15, resumed from 10", lines(1, 15), 10, lines(1, 10), 5},
		{"nothing past the checkpoint", lines(1, 10), 10, lines(1, 10), 0},
		{"resumed from step 0", lines(1, 3), 0, "", 3},
		{"empty log", "", 7, "", 0},
		{"blank lines kept byte for byte", line(1) + "\n" + line(2) + line(3), 2, line(1) + "\n" + line(2), 1},
		{"a last line torn by the kill", lines(1, 12) + `{"epoch":3,"st`, 10, lines(1, 10), 3},
		{"no newline on a whole last line", strings.TrimSuffix(lines(1, 4), "\n"), 4, strings.TrimSuffix(lines(1, 4), "\n"), 0},
		{"an old file with the steps twice", lines(1, 15) + lines(11, 20), 10, lines(1, 10), 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := CutAfter(strings.NewReader(tc.in), &out, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want || n != tc.dropped {
				t.Errorf("kept %q, dropped %d; want %q, %d", out.String(), n, tc.want, tc.dropped)
			}
		})
	}
}

func TestCutAfterRefusesALogItCannotRead(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"a bad line in the middle", "{\"step\":1,\"loss\":1}\nnot json\n{\"step\":2,\"loss\":1}\n", "line 2"},
		{"a torn line that is not the last", "{\"step\":1,\"lo\n{\"step\":2,\"loss\":1}\n", "line 1"},
		{"a line far too long", strings.Repeat("x", maxLine+10), "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CutAfter(strings.NewReader(tc.in), &bytes.Buffer{}, 5)
			var le *LineError
			if !errors.As(err, &le) || !errors.Is(err, ErrNotMetrics) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a LineError wrapping ErrNotMetrics naming %q", err, tc.want)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"epoch":0,"step":1,"loss":-0.25,"lr":0.05,"z_std":0.02}`))
	f.Add([]byte("{\"loss\":1}\n\n{\"loss\":2,\"epoch\":1}"))
	f.Add([]byte(`{"loss":1e400}`))
	f.Add([]byte("{\"step\":3,\"loss\":1}\n{\"step\":2,\"loss\":1}"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := Read(bytes.NewReader(b))
		if err != nil {
			if len(ms) != 0 {
				t.Fatal("metrics returned with an error")
			}
			return
		}
		if len(ms) == 0 {
			t.Fatal("no metrics and no error")
		}
		for i, m := range ms {
			if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) {
				t.Fatalf("non-finite loss %v accepted", m.Loss)
			}
			if i > 0 && m.Step != 0 && m.Step <= ms[i-1].Step {
				t.Fatalf("step %d after %d accepted", m.Step, ms[i-1].Step)
			}
		}
		// Cutting at the last step keeps every line.
		var out bytes.Buffer
		if _, err := CutAfter(bytes.NewReader(b), &out, ms[len(ms)-1].Step); err != nil {
			t.Fatalf("CutAfter of a readable log: %v", err)
		}
	})
}

func TestKNNIsOptionalAndReadsBack(t *testing.T) {
	acc := 0.8125
	var b bytes.Buffer
	enc := NewEncoder(&b)
	for _, r := range []Record{{Epoch: 1, Step: 10, Loss: -0.5}, {Epoch: 1, Step: 20, Loss: -0.6, KNN: &acc}} {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); strings.Contains(first, "knn") {
		t.Errorf("a line without a score names knn: %s", first)
	}
	rs, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].KNN != nil || rs[1].KNN == nil || *rs[1].KNN != acc {
		t.Errorf("read back %+v, %+v", rs[0], rs[1])
	}
}
