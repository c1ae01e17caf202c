package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/siampipe/siampipe/internal/objstore"
	"github.com/siampipe/siampipe/internal/outfile"
)

// Files and objects: every flag that names a file a stage reads or writes
// also takes s3://bucket/key, an object of an S3-compatible store (package
// objstore; endpoint and credentials from AWS_ENDPOINT_URL,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION).
// The helpers here open either, and add to a store's errors what to check.

// Open opens the file or object at path for reading. The result also reads
// at offsets and seeks (io.ReaderAt, io.Seeker: an *os.File or an
// *objstore.Reader). A local path's error is os.Open's; an object's names
// the URL and ends with what to check.
func Open(path string) (ReadFile, error) {
	if !objstore.IsURL(path) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	c, err := objstore.Default()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r, err := c.Open(context.Background(), path)
	if err != nil {
		return nil, storeHint(path, err)
	}
	return storeReader{r}, nil
}

// ReadFile is a file or object open for reading.
type ReadFile interface {
	io.ReadCloser
	io.ReaderAt
	io.Seeker
}

// storeReader adds the hints to the errors of an object's reads.
type storeReader struct{ *objstore.Reader }

func (r storeReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	if err != nil && err != io.EOF {
		err = storeHint(r.Name(), err)
	}
	return n, err
}

// ReadAll reads the whole file or object at path.
func ReadAll(path string) ([]byte, error) {
	if !objstore.IsURL(path) {
		return os.ReadFile(path)
	}
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// FileError names the flag in the error of opening the file or object
// path it gave: "--model s3://b/m.arrows: no such object (...)" for an
// object, whose errors begin with its URL; "--model: open m.arrows: no such
// file or directory" for a file.
func FileError(flag, path string, err error) error {
	if objstore.IsURL(path) {
		return fmt.Errorf("%s %w", flag, err)
	}
	return fmt.Errorf("%s: %w", flag, err)
}

// NotExist reports whether err says that a file or an object does not
// exist.
func NotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, objstore.ErrNotFound)
}

// Probe checks that the object at path can be written — the bucket
// exists, the credentials may write it, the store answers — by starting
// an upload and aborting it; nothing appears. A local path is not probed
// (nil). For a stage that writes an object only after long work.
func Probe(path string) error {
	if !objstore.IsURL(path) {
		return nil
	}
	o, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	o.Abort()
	return nil
}

// IsObject reports whether path names an object of a store (s3://...)
// rather than a local file.
func IsObject(path string) bool { return objstore.IsURL(path) }

// JoinPath returns name in the directory dir: filepath.Join for a local
// directory, dir/name for an s3:// prefix.
func JoinPath(dir, name string) string {
	if objstore.IsURL(dir) {
		return strings.TrimSuffix(dir, "/") + "/" + name
	}
	return filepath.Join(dir, name)
}

// ListDir returns the paths of the files directly in dir, a local
// directory or an s3://bucket/prefix (as a folder: s3://b/ck and s3://b/ck/
// both list the objects s3://b/ck/NAME), sorted. A directory or prefix
// that does not exist has no files.
func ListDir(dir string) ([]string, error) {
	if !objstore.IsURL(dir) {
		des, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var out []string
		for _, d := range des {
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				out = append(out, filepath.Join(dir, d.Name()))
			}
		}
		return out, nil
	}
	c, err := objstore.Default()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	objs, err := c.List(context.Background(), prefix)
	if err != nil {
		return nil, storeHint(dir, err)
	}
	var out []string
	for _, o := range objs {
		if rest := strings.TrimPrefix(o.URL, prefix); rest != "" && !strings.Contains(rest, "/") {
			out = append(out, o.URL)
		}
	}
	slices.Sort(out)
	return out, nil
}

// OpenLog opens path for a log written as it goes (train's metrics),
// appended to or truncated: outfile.OpenLog for a local path. An object
// cannot grow, so an s3:// log is a new object that starts with the old
// one's bytes when appending, and appears, replacing the old, on Close:
// an interrupted stage that returns still saves it, a killed one leaves
// the old.
func OpenLog(path string, appendTo bool) (io.WriteCloser, error) {
	if !objstore.IsURL(path) {
		f, err := outfile.OpenLog(path, appendTo)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	o, err := CreateAtomic(path)
	if err != nil {
		return nil, err
	}
	if appendTo {
		r, err := Open(path)
		switch {
		case errors.Is(err, objstore.ErrNotFound):
		case err != nil:
			o.Abort()
			return nil, err
		default:
			_, err = io.Copy(o, r)
			r.Close()
			if err != nil {
				o.Abort()
				return nil, err
			}
		}
	}
	return objectLog{o}, nil
}

// objectLog is an s3:// log: Close commits it.
type objectLog struct{ *Output }

func (l objectLog) Close() error { return l.Commit() }

// storeHint adds to a store's error about the object or prefix at url what
// to check: the key, the credentials, the endpoint.
func storeHint(url string, err error) error {
	switch {
	case errors.Is(err, objstore.ErrNotFound):
		dir := url
		if u, perr := objstore.ParseURL(url); perr == nil {
			dir = objstore.Scheme + u.Bucket + "/"
			if d := path.Dir(u.Key); d != "." && d != "/" {
				dir += d + "/"
			}
		}
		return fmt.Errorf("%w (check the bucket and key; 'aws s3 ls %s' lists what is there)", err, dir)
	case errors.Is(err, objstore.ErrAccess):
		return fmt.Errorf("%w (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and that they may use the bucket)", err)
	case errors.Is(err, objstore.ErrUnreachable):
		ep := objstore.ConfigFromEnv().Endpoint
		if ep == "" {
			return fmt.Errorf("%w (AWS_ENDPOINT_URL is not set, so this is AWS S3: is the network up? for another store set AWS_ENDPOINT_URL=http://host:port)", err)
		}
		return fmt.Errorf("%w (is the S3 server at AWS_ENDPOINT_URL=%s running? check its scheme, host and port)", err, ep)
	}
	return err
}
