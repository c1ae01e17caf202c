package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrClosed is returned by a Writer's Write after Commit or Abort.
var ErrClosed = errors.New("write after commit or abort")

// Writer writes one object as a multipart upload, one part of the client's
// PartSize at a time: Write fills the part buffer and, when it is full,
// uploads it (Write blocks meanwhile), so the Writer holds at most one
// part in memory. The object appears, whole, on Commit; Abort discards the
// upload and leaves an existing object of that name as it was. A Writer is
// not safe for concurrent use.
type Writer struct {
	c        *Client
	ctx      context.Context
	u        URL
	name     string
	uploadID string
	buf      []byte // the part being filled; grows up to partSize
	parts    []minio.CompletePart
	n        int64 // bytes written
	err      error // the first failure; every later call returns it
	done     bool
}

// Create starts writing the object at the URL s3://bucket/key. It starts
// the multipart upload at once, so a missing bucket, a refused credential
// or an unreachable store fail here, before any work. ctx bounds every
// request of the Writer (Abort excepted); cancelling it fails the upload.
func (c *Client) Create(ctx context.Context, name string) (*Writer, error) {
	u, err := objectURL(name)
	if err != nil {
		return nil, err
	}
	id, err := c.core.NewMultipartUpload(ctx, u.Bucket, u.Key, minio.PutObjectOptions{})
	if err != nil {
		return nil, classify(name, err)
	}
	w := &Writer{c: c, ctx: ctx, u: u, name: name, uploadID: id}
	addPending(w)
	return w, nil
}

// Name returns the object's URL.
func (w *Writer) Name() string { return w.name }

// Write buffers p, uploading every part that fills.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, fmt.Errorf("%s: %w", w.name, ErrClosed)
	}
	written := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, min(int64(len(p)), w.c.partSize))
		}
		room := int(w.c.partSize) - len(w.buf)
		k := min(room, len(p))
		if len(w.buf)+k > cap(w.buf) {
			// Grow by doubling up to the part size: a small object
			// never holds a whole part of memory.
			nb := make([]byte, len(w.buf), min(max(2*cap(w.buf), len(w.buf)+k), int(w.c.partSize)))
			copy(nb, w.buf)
			w.buf = nb
		}
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		written += k
		w.n += int64(k)
		if int64(len(w.buf)) == w.c.partSize {
			if err := w.flushPart(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flushPart uploads the buffer as the next part and empties it.
func (w *Writer) flushPart() error {
	num := len(w.parts) + 1
	if num > maxParts {
		return w.fail(fmt.Errorf("%s: more than %d parts of %d MiB: the object is too large for this part size", w.name, maxParts, w.c.partSize>>20))
	}
	sum := md5.Sum(w.buf)
	part, err := w.c.core.PutObjectPart(w.ctx, w.u.Bucket, w.u.Key, w.uploadID, num,
		bytes.NewReader(w.buf), int64(len(w.buf)), minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(sum[:])})
	if err != nil {
		return w.fail(classify(w.name, err))
	}
	w.parts = append(w.parts, minio.CompletePart{PartNumber: num, ETag: part.ETag})
	w.buf = w.buf[:0]
	return nil
}

// fail records the Writer's first error and aborts the upload.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	w.Abort()
	return w.err
}

// Commit uploads what is buffered as the last part and completes the
// upload: the object then appears whole (replacing one of that name). On
// an error nothing appears. Commit after Commit or Abort returns the first
// error, if any.
func (w *Writer) Commit() error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			return err
		}
	}
	if len(w.parts) == 0 {
		// An empty object: a multipart upload needs a part, a plain
		// PUT does not.
		w.Abort()
		_, err := w.c.core.PutObject(w.ctx, w.u.Bucket, w.u.Key, bytes.NewReader(nil), 0, "", "", minio.PutObjectOptions{})
		if err != nil {
			w.err = classify(w.name, err)
		}
		return w.err
	}
	_, err := w.c.core.CompleteMultipartUpload(w.ctx, w.u.Bucket, w.u.Key, w.uploadID, w.parts, minio.PutObjectOptions{})
	if err != nil {
		return w.fail(classify(w.name, err))
	}
	w.done = true
	dropPending(w)
	w.buf = nil
	return nil
}

// abortTimeout bounds the request that aborts an upload: Abort is called
// on the way out of a failed run, where waiting long helps nobody.
const abortTimeout = 10 * time.Second

// Abort discards the upload: nothing appears, and the parts uploaded so
// far are freed. It does nothing after Commit or Abort. A failure to reach
// the store leaves an incomplete upload behind, invisible but holding its
// parts until the bucket's lifecycle rule (AbortIncompleteMultipartUpload)
// or a later abort removes it.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.buf = nil
	dropPending(w)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), abortTimeout)
	defer cancel()
	w.c.core.AbortMultipartUpload(ctx, w.u.Bucket, w.u.Key, w.uploadID)
}

// pending holds the Writers neither committed nor aborted.
var pending struct {
	sync.Mutex
	m map[*Writer]bool
}

func addPending(w *Writer) {
	pending.Lock()
	if pending.m == nil {
		pending.m = map[*Writer]bool{}
	}
	pending.m[w] = true
	pending.Unlock()
}

func dropPending(w *Writer) {
	pending.Lock()
	delete(pending.m, w)
	pending.Unlock()
}

// Pending returns how many Writers are neither committed nor aborted.
func Pending() int {
	pending.Lock()
	defer pending.Unlock()
	return len(pending.m)
}

// AbortPending aborts the uploads of every Writer neither committed nor
// aborted, for a process about to exit on a signal, waiting at most
// timeout. It sends the requests itself rather than through the Writers,
// which may be in the middle of a Write in another goroutine.
func AbortPending(timeout time.Duration) {
	pending.Lock()
	ws := make([]*Writer, 0, len(pending.m))
	for w := range pending.m {
		ws = append(ws, w)
	}
	clear(pending.m)
	pending.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { w.c.core.AbortMultipartUpload(ctx, w.u.Bucket, w.u.Key, w.uploadID) })
	}
	wg.Wait()
}
