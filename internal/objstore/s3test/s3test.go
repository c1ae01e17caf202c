// Package s3test runs a real S3-compatible server for tests: versitygw (the
// Versity S3 Gateway, Apache-2.0) serving a temporary directory on
// 127.0.0.1, so that the code under test speaks S3 over HTTP to a server
// other people use, not to a fake.
//
// The server is built from the pinned module version (Version) with
// `go install` the first time a test needs it — a few minutes on two cores
// — and cached outside the repository, in $SIAMPIPE_VERSITYGW_CACHE or else
// the user cache directory's siampipe-versitygw/VERSION/versitygw; test
// binaries that start at once wait for one build. $SIAMPIPE_VERSITYGW names
// a versitygw binary to use instead.
//
// A test that cannot have its server fails, with the reason: it is never
// skipped.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sys/unix"

	"github.com/siampipe/siampipe/internal/objstore"
)

// The server's module and the version the tests run: change it here only.
const (
	Module  = "github.com/versity/versitygw"
	Version = "v1.8.0"
)

// The root credentials of every test server.
const (
	AccessKey = "siampipe-test"
	SecretKey = "siampipe-test-secret"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Dir      string // the directory it serves: one folder per bucket
}

// Binary returns the path of the versitygw binary, building it first if
// it is not cached (see the package comment).
func Binary() (string, error) {
	if p := os.Getenv("SIAMPIPE_VERSITYGW"); p != "" {
		return p, nil
	}
	cache := os.Getenv("SIAMPIPE_VERSITYGW_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no cache directory for the versitygw build (set SIAMPIPE_VERSITYGW_CACHE): %w", err)
		}
		cache = filepath.Join(d, "siampipe-versitygw")
	}
	dir := filepath.Join(cache, Version)
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil { // another test binary may be building it
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "install", Module+"/cmd/versitygw@"+Version)
	cmd.Dir = tmp // outside any module: go install pkg@version builds that version alone
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s/cmd/versitygw@%s: %w\n%s", Module, Version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

var buildMu sync.Mutex

// Start starts a server on a free port of 127.0.0.1 serving a new
// temporary directory, and stops it when the test ends. It fails the test
// if the server cannot be built or started.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("s3test: no versitygw server: %v", err)
	}
	dir := t.TempDir()
	var lastErr error
	for range 3 { // a port found free may be taken before the server binds it
		s, err := start(t, bin, dir)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("s3test: versitygw did not start: %v", lastErr)
	return nil
}

func start(t testing.TB, bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var out bytes.Buffer
	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--port", addr, "--quiet", "posix", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test binary
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("%s exited (%v): %s", bin, err, bytes.TrimSpace(out.Bytes()))
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s not listening on %s after 20 s: %s", bin, addr, bytes.TrimSpace(out.Bytes()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(stop)
	return &Server{Endpoint: "http://" + addr, Dir: dir}, nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Config returns a client configuration for the server with the root
// credentials.
func (s *Server) Config() objstore.Config {
	return objstore.Config{Endpoint: s.Endpoint, Region: "us-east-1", AccessKey: AccessKey, SecretKey: SecretKey}
}

// Setenv points the standard variables (objstore.ConfigFromEnv) at the
// server for the rest of the test.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// core is a minio-go client with the root credentials, for what the code
// under test does not do (make buckets, list uploads).
func (s *Server) core(t testing.TB) minio.Core {
	t.Helper()
	c, err := minio.NewCore(s.Endpoint[len("http://"):], &minio.Options{
		Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return *c
}

// Bucket makes the bucket name and returns its URL, s3://name/.
func (s *Server) Bucket(t testing.TB, name string) string {
	t.Helper()
	if err := s.core(t).MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("s3test: make bucket %s: %v", name, err)
	}
	return objstore.Scheme + name + "/"
}

// Uploads returns the keys of the bucket's incomplete multipart uploads.
func (s *Server) Uploads(t testing.TB, bucket string) []string {
	t.Helper()
	r, err := s.core(t).ListMultipartUploads(context.Background(), bucket, "", "", "", "", 1000)
	if err != nil {
		t.Fatalf("s3test: list uploads of %s: %v", bucket, err)
	}
	var keys []string
	for _, u := range r.Uploads {
		keys = append(keys, u.Key)
	}
	return keys
}

// Get returns the object's bytes, or nil when it does not exist.
func (s *Server) Get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	body, _, _, err := s.core(t).GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil
	}
	if err != nil {
		t.Fatalf("s3test: get s3://%s/%s: %v", bucket, key, err)
	}
	defer body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(body); err != nil {
		t.Fatalf("s3test: get s3://%s/%s: %v", bucket, key, err)
	}
	return b.Bytes()
}

// Put stores data as the object bucket/key.
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	_, err := s.core(t).PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), "", "", minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("s3test: put s3://%s/%s: %v", bucket, key, err)
	}
}

// Remove deletes the object bucket/key.
func (s *Server) Remove(t testing.TB, bucket, key string) {
	t.Helper()
	if err := s.core(t).RemoveObject(context.Background(), bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("s3test: remove s3://%s/%s: %v", bucket, key, err)
	}
}

// Env returns the standard variables (objstore.ConfigFromEnv) that point
// a process at the server, as NAME=VALUE.
func (s *Server) Env() []string {
	return []string{"AWS_ENDPOINT_URL=" + s.Endpoint, "AWS_ENDPOINT_URL_S3=", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=",
		"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey, "AWS_SESSION_TOKEN=", "AWS_MAX_ATTEMPTS="}
}
