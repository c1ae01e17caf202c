package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// Reader reads one object. Read streams it from the current offset with
// one GET (opened at the first Read, again after a Seek); ReadAt sends a
// ranged GET for the bytes asked. Every request asks for the version Open
// saw (its ETag), so an object replaced while it is read is an error, not
// a mix of two. ReadAt may be called concurrently; Read and Seek may not.
type Reader struct {
	c    *Client
	ctx  context.Context
	u    URL
	name string
	size int64
	etag string

	off  int64         // where the next Read reads
	body io.ReadCloser // the open GET of Read, positioned at off; nil when none
}

// Open opens the object at the URL s3://bucket/key for reading. It sends
// the GET that Read then streams, so a missing object, a refused
// credential or an unreachable store fail here. ctx bounds every request
// of the Reader.
func (c *Client) Open(ctx context.Context, name string) (*Reader, error) {
	u, err := objectURL(name)
	if err != nil {
		return nil, err
	}
	body, info, _, err := c.core.GetObject(ctx, u.Bucket, u.Key, minio.GetObjectOptions{})
	if err != nil {
		return nil, classify(name, err)
	}
	return &Reader{c: c, ctx: ctx, u: u, name: name, size: info.Size, etag: info.ETag, body: body}, nil
}

// Name returns the object's URL.
func (r *Reader) Name() string { return r.name }

// Size returns the object's size in bytes.
func (r *Reader) Size() int64 { return r.size }

// get sends a GET for the bytes [off, end] (end -1: to the object's end).
func (r *Reader) get(off, end int64) (io.ReadCloser, error) {
	opt := minio.GetObjectOptions{}
	if r.etag != "" {
		if err := opt.SetMatchETag(r.etag); err != nil {
			return nil, err
		}
	}
	switch {
	case end >= 0:
		if err := opt.SetRange(off, end); err != nil {
			return nil, err
		}
	case off > 0:
		if err := opt.SetRange(off, 0); err != nil { // bytes=off-
			return nil, err
		}
	}
	body, _, _, err := r.c.core.GetObject(r.ctx, r.u.Bucket, r.u.Key, opt)
	if err != nil {
		return nil, r.fail(err)
	}
	return body, nil
}

// fail names the object in a request's error; a precondition that failed
// means the object was replaced since Open.
func (r *Reader) fail(err error) error {
	if minio.ToErrorResponse(err).Code == "PreconditionFailed" {
		return fmt.Errorf("%s: the object changed while it was read (written again by another run?)", r.name)
	}
	return classify(r.name, err)
}

// Read reads the next bytes of the object.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body == nil {
		b, err := r.get(r.off, -1)
		if err != nil {
			return 0, err
		}
		r.body = b
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	switch {
	case err == io.EOF && r.off < r.size:
		r.body.Close()
		r.body = nil
		return n, fmt.Errorf("%s: %w after %d of %d bytes", r.name, io.ErrUnexpectedEOF, r.off, r.size)
	case err != nil && err != io.EOF:
		return n, r.fail(err)
	case err == io.EOF && n > 0:
		return n, nil // the next Read says EOF
	}
	return n, err
}

// ReadAt reads len(p) bytes from offset off with one ranged GET.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", r.name, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	if want == 0 {
		return 0, nil
	}
	body, err := r.get(off, off+want-1)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:want])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return n, fmt.Errorf("%s: %w: %d of %d bytes at offset %d", r.name, io.ErrUnexpectedEOF, n, want, off)
		}
		return n, r.fail(err)
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// Seek sets where the next Read reads, as io.Seeker says. Seeking past the
// end is allowed; Read then returns io.EOF.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("%s: seek: bad whence %d", r.name, whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("%s: seek to negative offset %d", r.name, abs)
	}
	if abs != r.off && r.body != nil {
		r.body.Close()
		r.body = nil
	}
	r.off = abs
	return abs, nil
}

// Close ends the open GET, if any.
func (r *Reader) Close() error {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	return nil
}
