package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress reports the progress of a long piece of work on stderr: a bar
// with rate and ETA redrawn in place on a terminal, a plain line every
// PlainEvery otherwise (logs of unattended runs), nothing with --quiet.
type Progress struct {
	s     *Stage
	what  string
	unit  string
	total int64
	start time.Time

	mu    sync.Mutex
	n     int64
	last  time.Time
	every time.Duration
	w     io.Writer
	tty   bool
	off   bool
}

// PlainEvery is how often a Progress prints a line when stderr is not a terminal.
var PlainEvery = 15 * time.Second

// Progress starts a progress report of total units (0 if unknown).
func (s *Stage) Progress(what string, total int64, unit string) *Progress {
	now := time.Now()
	p := &Progress{s: s, what: what, unit: unit, total: total, start: now, last: now,
		w: s.stderr, tty: s.ttyErr, off: s.quiet}
	p.every = PlainEvery
	if p.tty {
		p.every = 200 * time.Millisecond
	}
	return p
}

// Add records n more units done.
func (p *Progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += n
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		p.print(now, false)
	}
}

// Done ends the report with a summary line.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.print(time.Now(), true)
}

func (p *Progress) print(now time.Time, final bool) {
	if p.off {
		return
	}
	el := now.Sub(p.start)
	rate := float64(p.n) / el.Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "%s ", p.what)
	if p.total > 0 {
		frac := float64(p.n) / float64(p.total)
		if frac > 1 {
			frac = 1
		}
		if p.tty {
			const width = 24
			fill := int(frac * width)
			fmt.Fprintf(&b, "[%s%s] ", strings.Repeat("#", fill), strings.Repeat(".", width-fill))
		}
		fmt.Fprintf(&b, "%3.0f%% %d/%d %s", 100*frac, p.n, p.total, p.unit)
	} else {
		fmt.Fprintf(&b, "%d %s", p.n, p.unit)
	}
	fmt.Fprintf(&b, ", %s/s", human(rate))
	if final {
		fmt.Fprintf(&b, ", done in %s", el.Round(100*time.Millisecond))
	} else if p.total > 0 && rate > 0 {
		eta := time.Duration(float64(p.total-p.n) / rate * float64(time.Second))
		fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
	}
	if p.tty {
		end := "\r"
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\033[K%s: %s%s", p.s.Name, b.String(), end)
		return
	}
	p.s.Logf("%s", b.String())
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}
