// Package outfile writes output files the way gzip and zstd do, so that an
// output path never loses what it is:
//
//   - a path that does not exist yet, or names a regular file, is written to
//     a temporary file in the same directory and renamed into place only on
//     Commit: a failed or interrupted run leaves the old file (or nothing)
//     behind, never half a file. A replaced file keeps its permission bits
//     (and, where the process may set them, its owner and group); a new file
//     gets mode 0644.
//   - a symbolic link is followed to the file it names, and that file is
//     replaced as above, in its own directory; the link stays a link. A
//     dangling link makes the file it names, as the shell's > does.
//   - a device, FIFO or other non-regular file is opened and written
//     directly: nothing is renamed over it and nothing is removed on failure
//     (what was written is gone already, as on a pipe).
//   - /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N write to that
//     open descriptor of this process (a duplicate of it), whatever it is;
//     other /proc/PID/fd/N links are opened directly.
//
// Directories and sockets are refused.
package outfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// NewFileMode is the permission of a file that did not exist before.
const NewFileMode os.FileMode = 0o644

// maxTempBase bounds the part of the name a temporary file repeats, so that
// it stays within the 255 bytes of a file name.
const maxTempBase = 200

// maxLinks bounds the symbolic links followed, as the kernel's ELOOP does.
const maxLinks = 40

// ErrNotWritable is wrapped by Create's error for a path that cannot be an
// output: a directory or a socket.
var ErrNotWritable = errors.New("not a file, device or FIFO")

// File is an output file in the making. Its writes are unbuffered.
type File struct {
	f    *os.File
	name string // the path as given
	dst  string // the file the temporary file replaces; "" when direct
	tmp  string // the temporary file; "" when direct
	mode os.FileMode
	uid  int // owner to give the replacement; -1: leave it
	gid  int
	done bool
}

// Create opens path as an output (see the package comment for what each kind
// of path means). Nothing appears at a regular path until Commit.
func Create(path string) (*File, error) {
	target, fd, fi, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", path, err)
	}
	if fd >= 0 {
		f, err := dupFD(fd, path)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", path, err)
		}
		return &File{f: f, name: path}, nil
	}
	if fi != nil && !fi.Mode().IsRegular() {
		switch {
		case fi.IsDir():
			return nil, fmt.Errorf("output %s: is a directory: %w (name a file in it)", path, ErrNotWritable)
		case fi.Mode()&fs.ModeSocket != 0:
			return nil, fmt.Errorf("output %s: is a socket: %w", path, ErrNotWritable)
		}
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		return &File{f: f, name: path}, nil
	}
	o := &File{name: path, dst: target, mode: NewFileMode, uid: -1, gid: -1}
	if fi != nil {
		o.mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			o.uid, o.gid = int(st.Uid), int(st.Gid)
		}
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	if len(base) > maxTempBase {
		base = base[:maxTempBase] // the name may be valid, its sibling's too long
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("create output %s: %w (the file is replaced by renaming a new one into place: its directory must be writable)", path, err)
		}
		return nil, fmt.Errorf("create output %s: %w", path, err)
	}
	o.f, o.tmp = f, f.Name()
	addPending(o.tmp)
	return o, nil
}

// resolve follows path's symbolic links. It returns the descriptor of this
// process that path names (/dev/stdout, /proc/self/fd/N, ...), or -1 and the
// final path with its Lstat (nil if it does not exist).
func resolve(path string) (string, int, os.FileInfo, error) {
	p := path
	for hops := 0; ; hops++ {
		if fd, ok := ownFD(p); ok {
			return "", fd, nil, nil
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, -1, nil, nil
		}
		if err != nil {
			return "", -1, nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, -1, fi, nil
		}
		if hops == maxLinks {
			return "", -1, nil, fmt.Errorf("more than %d symbolic links: %w", maxLinks, syscall.ELOOP)
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", -1, nil, err
		}
		if !filepath.IsAbs(t) {
			if isProcFD(p) {
				// A /proc/PID/fd/N link of another process to a pipe,
				// socket or anonymous inode ("pipe:[123]"): the kernel
				// opens what it stands for.
				fi, err := os.Stat(p)
				if err != nil {
					return "", -1, nil, err
				}
				return p, -1, fi, nil
			}
			// Relative to the directory the link really is in (its path
			// may pass through links itself), and not cleaned: ".." after
			// a link is the kernel's to resolve, not the text's.
			dir := filepath.Dir(p)
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				dir = real
			}
			t = dir + string(filepath.Separator) + t
		}
		p = t
	}
}

var (
	devFD  = regexp.MustCompile(`^/dev/fd/([0-9]+)$`)
	procFD = regexp.MustCompile(`^/proc/(self|thread-self|[0-9]+)/(?:task/[0-9]+/)?fd/([0-9]+)$`)
)

// ownFD reports which descriptor of this process p names, if it names one.
func ownFD(p string) (int, bool) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return 0, false
	}
	switch abs {
	case "/dev/stdin":
		return 0, true
	case "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	}
	num := ""
	if m := devFD.FindStringSubmatch(abs); m != nil {
		num = m[1]
	} else if m := procFD.FindStringSubmatch(abs); m != nil && (m[1] == "self" || m[1] == "thread-self" || m[1] == strconv.Itoa(os.Getpid())) {
		num = m[2]
	}
	if num == "" {
		return 0, false
	}
	fd, err := strconv.Atoi(num)
	return fd, err == nil
}

func isProcFD(p string) bool {
	abs, err := filepath.Abs(p)
	return err == nil && procFD.MatchString(abs)
}

// dupFD returns a duplicate of this process's descriptor fd, closed on exec.
func dupFD(fd int, name string) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("descriptor %d: %w", fd, err)
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// Name returns the path as given to Create.
func (o *File) Name() string { return o.name }

// Direct reports whether writes go straight to the path (a device, FIFO or
// descriptor) rather than to a temporary file.
func (o *File) Direct() bool { return o.tmp == "" }

// Fd returns the descriptor written to.
func (o *File) Fd() uintptr { return o.f.Fd() }

// Write writes p to the file.
func (o *File) Write(p []byte) (int, error) { return o.f.Write(p) }

// Commit finishes the file: a temporary file is synced, given the mode (and
// owner) of the file it replaces and renamed into place; a direct output is
// closed. Commit after Commit or Abort does nothing.
func (o *File) Commit() error {
	if o.done {
		return nil
	}
	o.done = true
	if o.tmp == "" {
		if err := o.f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", o.name, err)
		}
		return nil
	}
	defer dropPending(o.tmp)
	err := o.f.Sync()
	if o.uid >= 0 {
		// As gzip does: keep the owner where the process may, else the
		// file is the process's own, as any rewritten file would be.
		_ = o.f.Chown(o.uid, o.gid)
	}
	if err == nil {
		err = o.f.Chmod(o.mode)
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp, o.dst)
	}
	if err != nil {
		os.Remove(o.tmp)
		return fmt.Errorf("write %s: %w", o.name, err)
	}
	return nil
}

// Abort discards the temporary file, leaving the path as it was; a direct
// output is only closed (what was written stays written). Abort after
// Commit does nothing.
func (o *File) Abort() {
	if o.done {
		return
	}
	o.done = true
	o.f.Close()
	if o.tmp != "" {
		os.Remove(o.tmp)
		dropPending(o.tmp)
	}
}

// OpenLog opens path for a log written as it goes (train's metrics lines),
// appended to or truncated. It follows symbolic links, writes devices and
// FIFOs in place, keeps an existing file's mode and writes /dev/stdout,
// /dev/stderr, /dev/fd/N and /proc/self/fd/N to that descriptor (never
// truncating it). Unlike Create it is not atomic: a log shows what was done
// so far.
func OpenLog(path string, appendTo bool) (*os.File, error) {
	target, fd, fi, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if fd >= 0 {
		f, err := dupFD(fd, path)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return f, nil
	}
	if fi != nil && (fi.IsDir() || fi.Mode()&fs.ModeSocket != 0) {
		return nil, fmt.Errorf("open %s: %w", path, ErrNotWritable)
	}
	flags := os.O_CREATE | os.O_WRONLY
	if appendTo {
		flags |= os.O_APPEND
	} else if fi == nil || fi.Mode().IsRegular() {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(target, flags, NewFileMode)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}

// pending holds the temporary files of uncommitted outputs.
var pending struct {
	sync.Mutex
	m map[string]bool
}

func addPending(p string) {
	pending.Lock()
	if pending.m == nil {
		pending.m = map[string]bool{}
	}
	pending.m[p] = true
	pending.Unlock()
}

func dropPending(p string) {
	pending.Lock()
	delete(pending.m, p)
	pending.Unlock()
}

// Pending returns how many temporary files of uncommitted outputs exist.
func Pending() int {
	pending.Lock()
	defer pending.Unlock()
	return len(pending.m)
}

// RemovePending removes the temporary files of every uncommitted output: for
// a process about to exit on a signal.
func RemovePending() {
	pending.Lock()
	for p := range pending.m {
		os.Remove(p)
		delete(pending.m, p)
	}
	pending.Unlock()
}
