// Package folder reads a user's folder of image files: Scan lists it, in
// torchvision's ImageFolder layout (one subfolder per class) or flat
// (unlabelled), and Load decodes the listed files on all cores, handing
// them back one by one in listing order.
//
// Whether a file is an image is decided by its content when it is decoded
// (internal/decode), never by its name, so a stray non-image file is
// reported rather than silently dropped.
package folder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// MaxClasses is the most class folders Scan accepts: labels are stored as
// bytes, 0..255.
const MaxClasses = 256

// Errors returned (wrapped) by Scan, for errors.Is. The messages name the
// folder or file at fault.
var (
	// ErrNotFolder means the root is missing or not a directory; for a
	// missing root the error also wraps fs.ErrNotExist.
	ErrNotFolder = errors.New("not a folder")
	// ErrEmpty means the folder holds no files (hidden ones do not count).
	ErrEmpty = errors.New("no image files")
	// ErrEmptyClass means a class folder holds no files.
	ErrEmptyClass = errors.New("empty class folder")
	// ErrMixed means the top level holds both files and subfolders, so it
	// is neither layout.
	ErrMixed = errors.New("both files and class folders at the top level")
	// ErrTooManyClasses means more than MaxClasses class folders.
	ErrTooManyClasses = errors.New("too many class folders")
)

// Listing is a scanned folder: its files in the order Load delivers them.
type Listing struct {
	Root    string   // the folder as given to Scan
	Classes []string // class folder names in label order; nil for a flat folder
	Files   []File
}

// File is one candidate image of a Listing.
type File struct {
	Path  string // relative to Root, slash-separated ("cat/001.png")
	Label int    // index into Classes; -1 in a flat folder
}

// Scan lists the folder root in one of two layouts.
//
// ImageFolder (torchvision's): every non-hidden entry at the top level is a
// directory (or a symlink to one), one per class. Class names are the
// directory names in byte order and a class's label is its index. The files
// of a class are all the regular files below its directory, found
// recursively, following symlinks to files and to directories (a symlink
// back to a directory it is inside of is skipped, so cycles end); they are
// ordered by their slash-separated path in byte order. Files is ordered by
// label, then path. (torchvision orders the files of nested folders
// directory by directory instead; for class folders without subfolders the
// orders agree.)
//
// Flat: the top level holds only files; they are unlabelled (Classes nil,
// every Label -1) and ordered by name.
//
// Entries whose name starts with '.' are skipped at every level, as are
// entries that are neither files nor directories (sockets, devices, pipes).
// A symlink that leads nowhere is listed as a file, so that Load reports
// it. Scan fails, with an error naming the path, when root is missing or
// not a directory (ErrNotFolder), lists nothing (ErrEmpty), a class folder
// lists nothing (ErrEmptyClass), the top level mixes files and directories
// (ErrMixed), there are more than MaxClasses classes (ErrTooManyClasses),
// or a directory cannot be read.
func Scan(root string) (*Listing, error) {
	rootInfo, err := os.Stat(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (%w)", ErrNotFolder, root, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrNotFolder, err)
	}
	if !rootInfo.IsDir() {
		return nil, fmt.Errorf("%w: %s is a file", ErrNotFolder, root)
	}
	entries, err := readDir(root, "")
	if err != nil {
		return nil, err
	}
	var files, dirs []entry
	for _, e := range entries {
		if e.dir {
			dirs = append(dirs, e)
		} else {
			files = append(files, e)
		}
	}
	l := &Listing{Root: root}
	switch {
	case len(files) > 0 && len(dirs) > 0:
		return nil, fmt.Errorf("%w of %s: file %s beside folder %s; move the files into class folders, or the folders out",
			ErrMixed, root, files[0].name, dirs[0].name)
	case len(files) > 0:
		for _, f := range files {
			l.Files = append(l.Files, File{Path: f.name, Label: -1})
		}
		return l, nil
	case len(dirs) == 0:
		return nil, fmt.Errorf("%w in %s (names starting with '.' are skipped)", ErrEmpty, root)
	case len(dirs) > MaxClasses:
		return nil, fmt.Errorf("%w in %s: %d, at most %d", ErrTooManyClasses, root, len(dirs), MaxClasses)
	}
	for label, d := range dirs {
		var paths []string
		if err := walk(root, d.name, []os.FileInfo{rootInfo, d.info}, &paths); err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%w %s (names starting with '.' are skipped)", ErrEmptyClass, filepath.Join(root, d.name))
		}
		sort.Strings(paths)
		l.Classes = append(l.Classes, d.name)
		for _, p := range paths {
			l.Files = append(l.Files, File{Path: p, Label: label})
		}
	}
	return l, nil
}

// entry is a directory entry that Scan keeps: a file or a directory, with
// symlinks resolved.
type entry struct {
	name string
	dir  bool
	info os.FileInfo // of the directory (its target, for a symlink); nil for a file
}

// readDir returns the non-hidden files and directories of root/rel, in name
// order.
func readDir(root, rel string) ([]entry, error) {
	dir := filepath.Join(root, filepath.FromSlash(rel))
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		mode := de.Type()
		var info os.FileInfo
		if mode&fs.ModeSymlink != 0 {
			info, err = os.Stat(filepath.Join(dir, name))
			if err != nil {
				out = append(out, entry{name: name}) // broken: Load reports it
				continue
			}
			mode = info.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if info == nil {
				if info, err = de.Info(); err != nil {
					return nil, err
				}
			}
			out = append(out, entry{name: name, dir: true, info: info})
		case mode.IsRegular():
			out = append(out, entry{name: name})
		}
	}
	return out, nil
}

// walk appends the slash-separated paths (relative to root) of the files
// below root/rel to paths. ancestors are the directories rel is inside of,
// and rel itself; a directory among them is not entered again.
func walk(root, rel string, ancestors []os.FileInfo, paths *[]string) error {
	entries, err := readDir(root, rel)
	if err != nil {
		return err
	}
next:
	for _, e := range entries {
		p := path.Join(rel, e.name)
		if !e.dir {
			*paths = append(*paths, p)
			continue
		}
		for _, a := range ancestors {
			if os.SameFile(a, e.info) {
				continue next // a symlink back up: a cycle
			}
		}
		if err := walk(root, p, append(ancestors[:len(ancestors):len(ancestors)], e.info), paths); err != nil {
			return err
		}
	}
	return nil
}
