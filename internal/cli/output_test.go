package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCreateAtomicKeepsWhatThePathIs: -o never replaces a device, a FIFO or
// a symbolic link, and a replaced file keeps its mode.
func TestCreateAtomicKeepsWhatThePathIs(t *testing.T) {
	dir := t.TempDir()
	commit := func(p, s string) {
		t.Helper()
		o, err := CreateAtomic(p)
		if err != nil {
			t.Fatal(err)
		}
		o.WriteString(s)
		if err := o.Commit(); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("null device", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mknod needs root; CI runs as root")
		}
		p := filepath.Join(dir, "null-device")
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		commit(p, "model bytes")
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("after -o %s: mode %v, %v; want the character device", p, fi.Mode(), err)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		p := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			f, err := os.Open(p)
			if err != nil {
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(f)
			f.Close()
			got <- string(b)
		}()
		done := make(chan bool)
		go func() { commit(p, "stream"); close(done) }()
		select {
		case s := <-got:
			if s != "stream" {
				t.Fatalf("FIFO reader got %q", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("FIFO reader got nothing")
		}
		<-done
		if fi, _ := os.Lstat(p); fi.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO became %v", fi.Mode())
		}
	})

	t.Run("symlink", func(t *testing.T) {
		target := filepath.Join(dir, "target.arrows")
		os.WriteFile(target, []byte("old"), 0o644)
		link := filepath.Join(dir, "link.arrows")
		os.Symlink("target.arrows", link)
		commit(link, "new")
		fi, _ := os.Lstat(link)
		if b, _ := os.ReadFile(target); fi.Mode()&os.ModeSymlink == 0 || string(b) != "new" {
			t.Fatalf("link mode %v, target %q; want the link kept and the target written", fi.Mode(), b)
		}
	})

	t.Run("mode 0600 kept", func(t *testing.T) {
		p := filepath.Join(dir, "secret.json")
		os.WriteFile(p, []byte("old"), 0o600)
		commit(p, "new")
		if fi, _ := os.Stat(p); fi.Mode() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode())
		}
	})
}

// pty opens a pseudo-terminal and returns its terminal side and path.
func pty(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	path := "/dev/pts/" + strconv.Itoa(n)
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

// TestTerminalsAreRefusedForArrow: an Arrow stream is never written to a
// terminal, on stdout or with -o, and never read from one.
func TestTerminalsAreRefusedForArrow(t *testing.T) {
	tty, path := pty(t)
	for _, c := range []struct {
		name   string
		args   []string
		stdin  io.Reader
		stdout io.Writer
		input  bool
		want   string
	}{
		{"stdout", nil, strings.NewReader(""), tty, false, "refusing to write an Arrow stream to a terminal"},
		{"-o", []string{"-o", path}, strings.NewReader(""), io.Discard, false, "-o " + path + " is a terminal"},
		{"stdin", nil, tty, io.Discard, true, "no input: stdin is a terminal"},
	} {
		s := New("demo", "x", "fetch | demo")
		var stderr bytes.Buffer
		code := s.Run(c.args, c.stdin, c.stdout, &stderr, func(context.Context) error {
			if c.input {
				_, err := s.Input()
				return err
			}
			_, err := s.Output()
			return err
		})
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, code, stderr.String(), c.want)
		}
	}
	// a JSON report or a picture may go to a terminal
	o, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	o.WriteString("{}\n")
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
}
