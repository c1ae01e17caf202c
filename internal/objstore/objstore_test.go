package objstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/objstore"
	"github.com/siampipe/siampipe/internal/objstore/s3test"
)

// client returns a client of a new server, with a bucket named b.
func client(t *testing.T, partSize int64) (*objstore.Client, *s3test.Server) {
	t.Helper()
	srv := s3test.Start(t)
	srv.Bucket(t, "bkt")
	cfg := srv.Config()
	cfg.PartSize = partSize
	c, err := objstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, c *objstore.Client, url string, data []byte) {
	t.Helper()
	w, err := c.Create(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, key string
		ok              bool
	}{
		{"s3://bkt/k", "bkt", "k", true},
		{"s3://bkt/dir/k.arrows", "bkt", "dir/k.arrows", true},
		{"s3://bkt/dir/", "bkt", "dir/", true},
		{"s3://bkt", "bkt", "", true},
		{"s3:///k", "", "", false},
		{"b/k", "", "", false},
	} {
		u, err := objstore.ParseURL(tc.in)
		if (err == nil) != tc.ok || u.Bucket != tc.bucket || u.Key != tc.key {
			t.Errorf("ParseURL(%q) = %+v, %v; want bucket %q key %q ok %v", tc.in, u, err, tc.bucket, tc.key, tc.ok)
		}
	}
}

func TestWriteThenReadRoundTrip(t *testing.T) {
	c, srv := client(t, objstore.MinPartSize)
	ctx := context.Background()
	for _, n := range []int{0, 1, 1000, objstore.MinPartSize, objstore.MinPartSize + 7} {
		data := randomBytes(n, uint64(n))
		url := "s3://bkt/dir/obj.bin"
		w, err := c.Create(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		for p := data; len(p) > 0; { // odd-sized writes across part boundaries
			k := min(len(p), 123457)
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := w.Commit(); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if got := srv.Get(t, "bkt", "dir/obj.bin"); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: the server holds %d bytes, not the ones written", n, len(got))
		}
		r, err := c.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if r.Size() != int64(n) {
			t.Errorf("Size() = %d, want %d", r.Size(), n)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes, err %v", n, len(got), err)
		}
		if n > 10 {
			mid := make([]byte, 10)
			if k, err := r.ReadAt(mid, int64(n/2)); k != 10 || err != nil || !bytes.Equal(mid, data[n/2:n/2+10]) {
				t.Errorf("ReadAt(10 at %d) = %d, %v", n/2, k, err)
			}
			tail := make([]byte, 20)
			if k, err := r.ReadAt(tail, int64(n-5)); k != 5 || err != io.EOF || !bytes.Equal(tail[:5], data[n-5:]) {
				t.Errorf("ReadAt over the end = %d, %v; want 5, EOF", k, err)
			}
			if _, err := r.Seek(-3, io.SeekEnd); err != nil {
				t.Fatal(err)
			}
			if rest, err := io.ReadAll(r); err != nil || !bytes.Equal(rest, data[n-3:]) {
				t.Errorf("read after Seek(-3, end) = %v, %v", rest, err)
			}
		}
		r.Close()
	}
}

func TestCommitReplacesAndAbortKeeps(t *testing.T) {
	c, srv := client(t, objstore.MinPartSize)
	ctx := context.Background()
	put(t, c, "s3://bkt/m", []byte("old"))
	w, err := c.Create(ctx, "s3://bkt/m")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(randomBytes(2*objstore.MinPartSize+1, 1)) // two parts uploaded
	if got := srv.Get(t, "bkt", "m"); string(got) != "old" {
		t.Fatalf("mid-upload the object is %d bytes, want the old 3", len(got))
	}
	w.Abort()
	if got := srv.Get(t, "bkt", "m"); string(got) != "old" {
		t.Fatalf("after Abort the object is %d bytes, want the old 3", len(got))
	}
	if u := srv.Uploads(t, "bkt"); len(u) != 0 {
		t.Errorf("after Abort incomplete uploads remain: %v", u)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, objstore.ErrClosed) {
		t.Errorf("Write after Abort: %v, want ErrClosed", err)
	}
	put(t, c, "s3://bkt/m", []byte("new"))
	if got := srv.Get(t, "bkt", "m"); string(got) != "new" {
		t.Fatalf("after Commit the object is %q, want new", got)
	}
}

func TestAbortedWriterLeavesNoObject(t *testing.T) {
	c, srv := client(t, objstore.MinPartSize)
	w, err := c.Create(context.Background(), "s3://bkt/half.arrows")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomBytes(objstore.MinPartSize+100, 2)); err != nil {
		t.Fatal(err)
	}
	if objstore.Pending() != 1 {
		t.Errorf("Pending() = %d with one writer open", objstore.Pending())
	}
	w.Abort()
	if got := srv.Get(t, "bkt", "half.arrows"); got != nil {
		t.Errorf("an aborted writer left %d bytes", len(got))
	}
	if u := srv.Uploads(t, "bkt"); len(u) != 0 {
		t.Errorf("incomplete uploads remain: %v", u)
	}
	if err := w.Commit(); err != nil {
		t.Errorf("Commit after Abort: %v, want nil (nothing to do)", err)
	}
	if got := srv.Get(t, "bkt", "half.arrows"); got != nil {
		t.Errorf("Commit after Abort made the object")
	}
}

func TestAbortPendingOnSignal(t *testing.T) {
	c, srv := client(t, objstore.MinPartSize)
	w, err := c.Create(context.Background(), "s3://bkt/x")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(randomBytes(objstore.MinPartSize, 3))
	objstore.AbortPending(5 * time.Second)
	if objstore.Pending() != 0 {
		t.Errorf("Pending() = %d after AbortPending", objstore.Pending())
	}
	if u := srv.Uploads(t, "bkt"); len(u) != 0 {
		t.Errorf("incomplete uploads remain: %v", u)
	}
}

// TestLargeWriteBoundedMemory writes 40 MiB through 5 MiB parts from a
// generator and checks that the heap never holds much more than a part.
func TestLargeWriteBoundedMemory(t *testing.T) {
	c, srv := client(t, objstore.MinPartSize)
	const size = 40 << 20
	w, err := c.Create(context.Background(), "s3://bkt/big")
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	h := sha256.New()
	r := rand.New(rand.NewPCG(4, 4))
	chunk := make([]byte, 64<<10)
	for n := 0; n < size; n += len(chunk) {
		for i := range chunk {
			chunk[i] = byte(r.Uint32())
		}
		h.Write(chunk)
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-sampled
	grew := int64(peak.Load()) - int64(base)
	total := ms.TotalAlloc
	runtime.ReadMemStats(&ms)
	t.Logf("40 MiB in 5 MiB parts: heap in use grew by at most %.1f MiB; %.1f MiB allocated in all", float64(grew)/(1<<20), float64(ms.TotalAlloc-total)/(1<<20))
	if grew > 4*objstore.MinPartSize {
		t.Errorf("the heap grew by %d MiB writing 40 MiB in parts of 5 MiB; want a few parts at most", grew>>20)
	}
	got := srv.Get(t, "bkt", "big")
	if len(got) != size || sha256.Sum256(got) != [32]byte(h.Sum(nil)) {
		t.Errorf("the object is %d bytes, not the %d written", len(got), size)
	}
}

func TestList(t *testing.T) {
	c, _ := client(t, 0)
	for _, k := range []string{"ck/step-0000010.arrows", "ck/epoch-0002.arrows", "ck/sub/x", "other", "ckz"} {
		put(t, c, "s3://bkt/"+k, []byte(k))
	}
	objs, err := c.List(context.Background(), "s3://bkt/ck/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
		if o.URL != "s3://bkt/"+o.Key || o.Size != int64(len(o.Key)) {
			t.Errorf("entry %+v", o)
		}
	}
	want := []string{"ck/epoch-0002.arrows", "ck/step-0000010.arrows", "ck/sub/x"}
	if !slices.Equal(keys, want) {
		t.Errorf("List(s3://bkt/ck/) = %v, want %v", keys, want)
	}
	objs, err = c.List(context.Background(), "s3://bkt/none/")
	if err != nil || len(objs) != 0 {
		t.Errorf("List of an empty prefix = %v, %v", objs, err)
	}
	if _, err := c.List(context.Background(), "s3://nobucket/x/"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("List in a missing bucket: %v, want ErrNotFound", err)
	}
}

// TestErrorsNameTheURL: each failure is one line naming the URL, of the
// kind errors.Is finds.
func TestErrorsNameTheURL(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "bkt")
	good := srv.Config()
	bad := good
	bad.SecretKey = "wrong-secret"
	unknown := good
	unknown.AccessKey = "nobody"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := good
	closed.Endpoint = "http://" + l.Addr().String()
	closed.MaxAttempts = 1
	l.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  objstore.Config
		url  string
		want error
	}{
		{"missing object", good, "s3://bkt/missing.arrows", objstore.ErrNotFound},
		{"missing bucket", good, "s3://nobucket/m.arrows", objstore.ErrNotFound},
		{"wrong secret", bad, "s3://bkt/m.arrows", objstore.ErrAccess},
		{"unknown key", unknown, "s3://bkt/m.arrows", objstore.ErrAccess},
		{"unreachable", closed, "s3://bkt/m.arrows", objstore.ErrUnreachable},
	} {
		c, err := objstore.New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, rerr := c.Open(ctx, tc.url)
		_, werr := c.Create(ctx, tc.url)
		if tc.name == "missing object" {
			werr = objstore.ErrNotFound // writing a new object is fine
		}
		for _, err := range []error{rerr, werr} {
			switch {
			case !errors.Is(err, tc.want):
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			case err == objstore.ErrNotFound:
			case !strings.HasPrefix(err.Error(), tc.url+": ") || strings.Contains(err.Error(), "\n"):
				t.Errorf("%s: %q does not start with the URL, on one line", tc.name, err)
			}
		}
		t.Logf("%s: %v", tc.name, rerr)
	}
}

func TestPrefixIsNoObject(t *testing.T) {
	c, _ := client(t, 0)
	for _, url := range []string{"s3://bkt/dir/", "s3://bkt"} {
		if _, err := c.Create(context.Background(), url); err == nil || !strings.Contains(err.Error(), "prefix") {
			t.Errorf("Create(%s): %v, want a refusal naming a prefix", url, err)
		}
	}
}

func TestReaderNoticesAReplacedObject(t *testing.T) {
	c, _ := client(t, 0)
	put(t, c, "s3://bkt/m", []byte("first version"))
	r, err := c.Open(context.Background(), "s3://bkt/m")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	put(t, c, "s3://bkt/m", []byte("other version"))
	// Open's GET may have the whole first version already; a new request
	// asks for that version and gets none.
	_, err = r.ReadAt(make([]byte, 4), 6)
	if err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("reading a replaced object: %v, want an error saying it changed", err)
	}
}

func TestEndpointMustBeHTTP(t *testing.T) {
	for _, ep := range []string{"127.0.0.1:9000", "ftp://host", "http://host/path"} {
		if _, err := objstore.New(objstore.Config{Endpoint: ep}); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL") {
			t.Errorf("New(endpoint %q): %v, want an error naming AWS_ENDPOINT_URL", ep, err)
		}
	}
}
