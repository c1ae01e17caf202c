// Package trainlog defines train's metrics log: one JSON object per line,
// a Record every few optimiser steps, steps strictly increasing. Training
// (internal/simsiam) writes the records, plot reads them, and train cuts a
// log back to a checkpoint's step when it resumes.
package trainlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Record is one line of the metrics log. The JSON names are the file
// format; fields added later must be optional (omitempty) so that older
// logs still read.
type Record struct {
	Epoch      int     `json:"epoch"`        // 1-based epoch of the step
	Step       int     `json:"step"`         // optimiser steps completed
	Loss       float64 `json:"loss"`         // loss of this step
	LR         float64 `json:"lr"`           // backbone learning rate of this step
	ZStd       float64 `json:"z_std"`        // collapse monitor: std of the l2-normalised z
	StepMS     float64 `json:"step_ms"`      // mean wall time per step since the last line
	ImagesPerS float64 `json:"images_per_s"` // pairs (source images) per second over that time
	// KNN is the kNN monitor's top-1 accuracy (internal/monitor) after this
	// step, the last of an epoch; absent on other lines.
	KNN *float64 `json:"knn,omitempty"`
}

// Errors a LineError wraps, for errors.Is.
var (
	// ErrNotMetrics: the line is not a JSON object with a finite "loss".
	ErrNotMetrics = errors.New("not a metrics line")
	// ErrStepOrder: the line's step is not above the step of the line
	// before (two runs' logs in one file).
	ErrStepOrder = errors.New("steps go backwards")
)

// ErrNoMetrics reports a log without a single metrics line.
var ErrNoMetrics = errors.New("no metrics lines")

// LineError is a bad line of a metrics log.
type LineError struct {
	Line int   // 1-based line number
	Err  error // wraps ErrNotMetrics or ErrStepOrder
}

func (e *LineError) Error() string { return fmt.Sprintf("metrics line %d: %v", e.Line, e.Err) }

// Unwrap returns the cause.
func (e *LineError) Unwrap() error { return e.Err }

// maxLine bounds a line's length; a record is about 150 bytes.
const maxLine = 1 << 20

// parse decodes one non-blank line.
func parse(b []byte) (Record, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Record{}, fmt.Errorf("%w (not a JSON object: %v)", ErrNotMetrics, err)
	}
	if _, ok := raw["loss"]; !ok {
		return Record{}, fmt.Errorf(`%w (no "loss")`, ErrNotMetrics)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("%w (%v)", ErrNotMetrics, err)
	}
	if math.IsNaN(r.Loss) || math.IsInf(r.Loss, 0) {
		return Record{}, fmt.Errorf("%w (loss %v is not finite)", ErrNotMetrics, r.Loss)
	}
	return r, nil
}

// Read parses a metrics log. Blank lines are skipped; a line that is not a
// JSON object with a finite "loss" is a *LineError, and so is a step that is
// not above the step of the line before (a log without steps, all 0, is
// read in line order). An empty log is ErrNoMetrics.
func Read(r io.Reader) ([]Record, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var out []Record
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		m, err := parse(b)
		if err != nil {
			return nil, &LineError{Line: line, Err: err}
		}
		if n := len(out); n > 0 && (m.Step != 0 || out[n-1].Step != 0) && m.Step <= out[n-1].Step {
			return nil, &LineError{Line: line, Err: fmt.Errorf("%w: step %d after step %d (two runs in one file?)", ErrStepOrder, m.Step, out[n-1].Step)}
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	if len(out) == 0 {
		return nil, ErrNoMetrics
	}
	return out, nil
}

// CutAfter copies to w, byte for byte, the lines of the metrics log r whose
// step is at most step (blank lines too), and returns how many metrics lines
// it left out: what a run resumed from a checkpoint at step must drop so
// that it does not log those steps twice. A last line without its newline
// that does not parse is a write torn by a kill: it is left out too. Any
// other line that does not parse is a *LineError.
func CutAfter(r io.Reader, w io.Writer, step int) (dropped int, err error) {
	br := bufio.NewReaderSize(r, 64*1024)
	line := 0
	for {
		b, rerr := readLine(br)
		if rerr == errLong {
			return dropped, &LineError{Line: line + 1, Err: fmt.Errorf("%w (longer than %d bytes)", ErrNotMetrics, maxLine)}
		}
		if rerr != nil && rerr != io.EOF {
			return dropped, fmt.Errorf("read metrics: %w", rerr)
		}
		if len(b) == 0 {
			return dropped, nil
		}
		line++
		keep := true
		if t := bytes.TrimSpace(b); len(t) > 0 {
			m, err := parse(t)
			switch {
			case err != nil && rerr == io.EOF && b[len(b)-1] != '\n':
				keep = false // torn last write
				dropped++
			case err != nil:
				return dropped, &LineError{Line: line, Err: err}
			case m.Step > step:
				keep = false
				dropped++
			}
		}
		if keep {
			if _, err := w.Write(b); err != nil {
				return dropped, fmt.Errorf("write metrics: %w", err)
			}
		}
		if rerr == io.EOF {
			return dropped, nil
		}
	}
}

var errLong = errors.New("line too long")

// readLine returns the next line with its newline (none at the end of the
// input), at most maxLine bytes, or errLong.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		b, err := br.ReadSlice('\n')
		if len(line)+len(b) > maxLine {
			return nil, errLong
		}
		line = append(line, b...)
		if err != bufio.ErrBufferFull {
			return line, err
		}
	}
}

// Encoder writes records to a log, one line each.
type Encoder struct{ enc *json.Encoder }

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{enc: json.NewEncoder(w)} }

// Encode writes r as one line.
func (e *Encoder) Encode(r Record) error { return e.enc.Encode(r) }
