package outfile

import (
	"bytes"
	"errors"
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

// write creates path, writes s and commits.
func write(t *testing.T, path, s string) {
	t.Helper()
	o, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(o, s); err != nil {
		t.Fatal(err)
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
}

func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTemps fails when dir holds anything but want, or outputs are pending.
func noTemps(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != len(want) {
		t.Errorf("%s holds %v, want %v", dir, names, want)
	}
	if n := Pending(); n != 0 {
		t.Errorf("%d temporary files still registered", n)
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod, chown); CI runs as root")
	}
}

func TestNewFileAppearsOnlyOnCommitWithMode0644(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.arrows")
	o, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(o, "hello")
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatal("file visible before Commit")
	}
	if o.Direct() {
		t.Fatal("a new path is written directly")
	}
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	o.Abort() // no-op after Commit
	fi, err := os.Stat(p)
	if err != nil || fi.Mode() != NewFileMode || content(t, p) != "hello" {
		t.Fatalf("after Commit: %v, mode %v, want %q with mode %v", err, fi.Mode(), "hello", NewFileMode)
	}
	noTemps(t, dir, "out.arrows")
}

func TestAbortKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "report.json")
	os.WriteFile(p, []byte("old"), 0o600)
	o, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(o, "partial")
	o.Abort()
	if got := content(t, p); got != "old" {
		t.Fatalf("after Abort the file holds %q", got)
	}
	noTemps(t, dir, "report.json")
}

func TestReplacedFileKeepsItsMode(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o640, 0o444, 0o755} {
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		os.WriteFile(p, []byte("old"), 0o644)
		os.Chmod(p, mode)
		write(t, p, "new")
		fi, _ := os.Stat(p)
		if fi.Mode() != mode || content(t, p) != "new" {
			t.Errorf("mode %v: after replacing, mode %v content %q", mode, fi.Mode(), content(t, p))
		}
		noTemps(t, dir, "f")
	}
}

func TestReplacedFileKeepsItsOwner(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("old"), 0o640)
	if err := os.Chown(p, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	write(t, p, "new")
	st := stat(t, p)
	if st.Uid != 1234 || st.Gid != 5678 || st.Mode&0o7777 != 0o640 {
		t.Fatalf("owner %d:%d mode %o, want 1234:5678 640", st.Uid, st.Gid, st.Mode&0o7777)
	}
}

func stat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestSymlinkIsFollowedAndStaysALink(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "data")
	os.Mkdir(sub, 0o755)
	target := filepath.Join(sub, "model.arrows")
	os.WriteFile(target, []byte("old"), 0o600)
	// link -> link2 -> data/model.arrows, relative links
	os.Symlink("link2", filepath.Join(dir, "link"))
	os.Symlink("data/model.arrows", filepath.Join(dir, "link2"))
	write(t, filepath.Join(dir, "link"), "new")
	for _, l := range []string{"link", "link2"} {
		fi, err := os.Lstat(filepath.Join(dir, l))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symbolic link: %v %v", l, fi.Mode(), err)
		}
	}
	fi, _ := os.Stat(target)
	if content(t, target) != "new" || fi.Mode() != 0o600 {
		t.Fatalf("target holds %q mode %v, want \"new\" 0600", content(t, target), fi.Mode())
	}
	noTemps(t, sub, "model.arrows")
}

func TestDanglingSymlinkCreatesTheFileItNames(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("made.png", filepath.Join(dir, "link"))
	write(t, filepath.Join(dir, "link"), "png")
	if fi, _ := os.Lstat(filepath.Join(dir, "link")); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced")
	}
	if content(t, filepath.Join(dir, "made.png")) != "png" {
		t.Fatal("the file the link names was not written")
	}
}

func TestSymlinkLoopIsAnError(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("b", filepath.Join(dir, "a"))
	os.Symlink("a", filepath.Join(dir, "b"))
	if _, err := Create(filepath.Join(dir, "a")); !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("Create through a loop: %v, want ELOOP", err)
	}
}

func TestCharDeviceIsWrittenInPlace(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "null-device")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	before := stat(t, p)
	for _, commit := range []bool{true, false} {
		o, err := Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Direct() {
			t.Fatal("a device is not written directly")
		}
		if _, err := io.WriteString(o, "discarded"); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = o.Commit()
		} else {
			o.Abort()
		}
		if err != nil {
			t.Fatal(err)
		}
		after := stat(t, p)
		if after.Mode != before.Mode || after.Rdev != before.Rdev || after.Ino != before.Ino {
			t.Fatalf("commit %v: the device became mode %o rdev %d (was %o, %d)", commit, after.Mode, after.Rdev, before.Mode, before.Rdev)
		}
	}
	noTemps(t, dir, "null-device")
}

func TestFIFOReaderGetsTheBytes(t *testing.T) {
	dir := t.TempDir()
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
	// a symlink to the FIFO reaches it too
	link := filepath.Join(dir, "link")
	os.Symlink("fifo", link)
	write(t, link, "through the fifo")
	select {
	case s := <-got:
		if s != "through the fifo" {
			t.Fatalf("reader got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reader got nothing")
	}
	if fi, _ := os.Lstat(p); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO became %v", fi.Mode())
	}
	noTemps(t, dir, "fifo", "link")
}

func TestDescriptorPathsWriteToTheDescriptor(t *testing.T) {
	for _, form := range []string{"/dev/fd/%d", "/proc/self/fd/%d", "/proc/%p/fd/%d", "link"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		fd := strconv.Itoa(int(w.Fd()))
		var p string
		switch form {
		case "/dev/fd/%d":
			p = "/dev/fd/" + fd
		case "/proc/self/fd/%d":
			p = "/proc/self/fd/" + fd
		case "/proc/%p/fd/%d":
			p = "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + fd
		case "link":
			p = filepath.Join(t.TempDir(), "out")
			os.Symlink("/proc/self/fd/"+fd, p)
		}
		write(t, p, "via "+form)
		w.Close() // Commit closed only its duplicate
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "via "+form {
			t.Errorf("%s: the pipe got %q", p, b)
		}
	}
}

func TestOwnFD(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	for _, c := range []struct {
		path string
		fd   int
		ok   bool
	}{
		{"/dev/stdout", 1, true},
		{"/dev/stderr", 2, true},
		{"/dev/stdin", 0, true},
		{"/dev/fd/7", 7, true},
		{"/dev/./fd/7", 7, true},
		{"/proc/self/fd/12", 12, true},
		{"/proc/thread-self/fd/3", 3, true},
		{"/proc/" + pid + "/fd/4", 4, true},
		{"/proc/1/fd/4", 0, false},
		{"/dev/null", 0, false},
		{"/dev/fd/x", 0, false},
		{"out.arrows", 0, false},
	} {
		fd, ok := ownFD(c.path)
		if ok != c.ok || (ok && fd != c.fd) {
			t.Errorf("ownFD(%q) = %d, %v; want %d, %v", c.path, fd, ok, c.fd, c.ok)
		}
	}
}

func TestDirectoryAndSocketAreRefused(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, sock} {
		if _, err := Create(p); !errors.Is(err, ErrNotWritable) {
			t.Errorf("Create(%s): %v, want ErrNotWritable", p, err)
		}
		if _, err := OpenLog(p, false); !errors.Is(err, ErrNotWritable) {
			t.Errorf("OpenLog(%s): %v, want ErrNotWritable", p, err)
		}
	}
	noTemps(t, dir, "s")
}

func TestRemovePendingRemovesTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	o, err := Create(filepath.Join(dir, "x"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(o, "partial")
	if Pending() != 1 {
		t.Fatalf("%d pending, want 1", Pending())
	}
	RemovePending()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 || Pending() != 0 {
		t.Fatalf("left %v, %d pending", entries, Pending())
	}
	o.Abort()
	noTemps(t, dir)
}

func TestOpenLog(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "metrics.jsonl")
	os.WriteFile(p, []byte("old\n"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink("metrics.jsonl", link)
	for _, c := range []struct {
		appendTo bool
		want     string
	}{{true, "old\nnew\n"}, {false, "new\n"}} {
		os.WriteFile(p, []byte("old\n"), 0o600)
		f, err := OpenLog(link, c.appendTo)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, "new\n")
		f.Close()
		fi, _ := os.Lstat(link)
		pfi, _ := os.Stat(p)
		if got := content(t, p); got != c.want || fi.Mode()&os.ModeSymlink == 0 || pfi.Mode() != 0o600 {
			t.Errorf("append %v: %q, link mode %v, file mode %v; want %q through the link, mode 0600", c.appendTo, got, fi.Mode(), pfi.Mode(), c.want)
		}
	}

	// A descriptor is written to, never truncated.
	r, w, _ := os.Pipe()
	f, err := OpenLog("/dev/fd/"+strconv.Itoa(int(w.Fd())), false)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "line\n")
	f.Close()
	w.Close()
	if b, _ := io.ReadAll(r); !bytes.Equal(b, []byte("line\n")) {
		t.Fatalf("pipe got %q", b)
	}

	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o600)
	got := make(chan []byte, 1)
	go func() {
		r, _ := os.Open(fifo)
		b, _ := io.ReadAll(r)
		got <- b
	}()
	f, err = OpenLog(fifo, false)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "x\n")
	f.Close()
	if b := <-got; string(b) != "x\n" {
		t.Fatalf("fifo reader got %q", b)
	}
}

// TestRelativeLinkInALinkedDirectory: a relative link is resolved from the
// directory it really is in, as the kernel does, not from the path's text
// (a/sub is a link to a/b/c; a/sub/l -> ../x names a/b/x, not a/x).
func TestRelativeLinkInALinkedDirectory(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "b", "c"), 0o755)
	os.Symlink(filepath.Join("b", "c"), filepath.Join(dir, "sub"))
	os.Symlink(filepath.Join("..", "x"), filepath.Join(dir, "b", "c", "l"))
	write(t, filepath.Join(dir, "sub", "l"), "through")
	// and a link whose text passes through a link: l2 -> sub/../y is b/y
	os.Symlink("sub/../y", filepath.Join(dir, "l2"))
	write(t, filepath.Join(dir, "l2"), "twice")
	if got, err := os.ReadFile(filepath.Join(dir, "b", "y")); err != nil || string(got) != "twice" {
		t.Fatalf("b/y holds %q (%v)", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "b", "x")); err != nil || string(got) != "through" {
		t.Fatalf("b/x holds %q (%v); want what was written through sub/l", got, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "x")); err == nil {
		t.Fatal("wrote x beside sub, where the link's text points, not where the kernel resolves it")
	}
}

// TestLongNameFitsItsTemporaryFile: a name near the 255-byte limit is
// valid, so its temporary sibling must be too.
func TestLongNameFitsItsTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, strings.Repeat("x", 250)+".png")
	write(t, p, "long")
	if content(t, p) != "long" {
		t.Fatal("not written")
	}
	noTemps(t, dir, filepath.Base(p))
}
