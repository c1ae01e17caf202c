// Package fmnist knows the FashionMNIST data set: its files, where to find
// them on this machine, how to download them, and its class names.
package fmnist

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/siampipe/siampipe/internal/idx"
)

// Classes are the FashionMNIST class names, indexed by label.
var Classes = [10]string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// DebianDir is where the Debian package dataset-fashion-mnist puts the files.
const DebianDir = "/usr/share/datasets/fashion-mnist"

// File is one file of the data set with the MD5 sum of its upstream gzip.
type File struct {
	Name string
	MD5  string
}

// Files of each split: images first, labels second. The MD5 sums are those
// the upstream project publishes for its gzip files.
var Files = map[string][2]File{
	"train": {{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"}, {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"}},
	"test":  {{"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"}, {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"}},
}

// ErrNotFound is returned by Locate when no folder holds the files.
var ErrNotFound = errors.New("FashionMNIST files not found")

// CacheDir returns the user cache folder for the data set:
// $XDG_CACHE_HOME/siampipe/fashion-mnist (or the OS default cache folder).
func CacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache folder: %w", err)
	}
	return filepath.Join(base, "siampipe", "fashion-mnist"), nil
}

// Candidates returns the folders searched for the files, in order: dir (the
// --dir flag, if set), $SIAMPIPE_DATA, the user cache, DebianDir.
func Candidates(dir string) []string {
	var c []string
	if dir != "" {
		return []string{dir} // an explicit folder is the only one looked at
	}
	if d := os.Getenv("SIAMPIPE_DATA"); d != "" {
		c = append(c, d)
	}
	if d, err := CacheDir(); err == nil {
		c = append(c, d)
	}
	return append(c, debianDir)
}

// debianDir is DebianDir; tests point it elsewhere.
var debianDir = DebianDir

// path returns the path of name in dir, also accepting the file without its
// .gz ending (decompressed by the user).
func path(dir, name string) (string, bool) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, strings.TrimSuffix(name, ".gz"))} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// Locate returns the paths of the images and labels files of split in the
// first candidate folder that holds both.
func Locate(dir, split string) (images, labels string, err error) {
	fs, ok := Files[split]
	if !ok {
		return "", "", fmt.Errorf("unknown split %q (use train or test)", split)
	}
	cands := Candidates(dir)
	for _, d := range cands {
		im, ok1 := path(d, fs[0].Name)
		lb, ok2 := path(d, fs[1].Name)
		if ok1 && ok2 {
			return im, lb, nil
		}
	}
	if dir != "" {
		return "", "", fmt.Errorf("%w in --dir %s (expected %s and %s)", ErrNotFound, dir, fs[0].Name, fs[1].Name)
	}
	return "", "", fmt.Errorf("%w in %s; install them with 'apt-get install dataset-fashion-mnist' or run 'fetch --download'",
		ErrNotFound, strings.Join(cands, ", "))
}

// Split is one decoded split: Count images of Rows x Cols pixels and their labels.
type Split struct {
	Count, Rows, Cols int
	Pixels            []byte // Count*Rows*Cols bytes
	Labels            []byte // Count bytes, each < 10
	ImagesPath        string
	LabelsPath        string
}

// Load decodes and validates the images and labels files (idx.LoadPair:
// magic numbers and dimensions, matching counts, complete data and gzip
// CRCs) and checks that the labels are FashionMNIST's classes, 0..9.
func Load(imagesPath, labelsPath string) (*Split, error) {
	set, err := idx.LoadPair(imagesPath, labelsPath)
	if err != nil {
		return nil, err
	}
	s := &Split{Count: set.Count, Rows: set.Rows, Cols: set.Cols, Pixels: set.Pixels, Labels: set.Labels, ImagesPath: imagesPath, LabelsPath: labelsPath}
	for i, l := range s.Labels {
		if l >= byte(len(Classes)) {
			return nil, fmt.Errorf("%s: label %d of row %d is not a class (0..9)", filepath.Base(labelsPath), l, i)
		}
	}
	return s, nil
}
