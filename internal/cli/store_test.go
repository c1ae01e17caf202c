package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/objstore"
	"github.com/siampipe/siampipe/internal/objstore/s3test"
)

// store starts a server with the bucket "bkt" and points the AWS_*
// variables at it.
func store(t *testing.T) *s3test.Server {
	t.Helper()
	srv := s3test.Start(t)
	srv.Bucket(t, "bkt")
	srv.Setenv(t)
	return srv
}

func TestObjectInputAndOutput(t *testing.T) {
	srv := store(t)
	s, _ := stage(Streams)
	code, _, stderr := runStage(s, "", []string{"-o", "s3://bkt/dir/out.arrows"}, func(context.Context) error {
		o, err := s.Output()
		if err != nil {
			return err
		}
		defer o.Abort()
		if o.Path() != "s3://bkt/dir/out.arrows" {
			t.Errorf("Path() = %q", o.Path())
		}
		o.WriteString("stream bytes")
		if got := srv.Get(t, "bkt", "dir/out.arrows"); got != nil {
			t.Errorf("the object appeared before Commit: %q", got)
		}
		return o.Commit()
	})
	if code != 0 || string(srv.Get(t, "bkt", "dir/out.arrows")) != "stream bytes" {
		t.Fatalf("exit %d (%s), object %q", code, stderr, srv.Get(t, "bkt", "dir/out.arrows"))
	}

	s, _ = stage(Streams)
	var got []byte
	code, _, stderr = runStage(s, "", []string{"-i", "s3://bkt/dir/out.arrows"}, func(context.Context) error {
		in, err := s.Input()
		if err != nil {
			return err
		}
		defer in.Close()
		got, err = io.ReadAll(in)
		return err
	})
	if code != 0 || string(got) != "stream bytes" {
		t.Fatalf("-i: exit %d (%s), read %q", code, stderr, got)
	}
}

func TestFailedStageLeavesNoObject(t *testing.T) {
	srv := store(t)
	s, _ := stage(Streams)
	code, _, _ := runStage(s, "", []string{"-o", "s3://bkt/out.arrows"}, func(context.Context) error {
		o, err := s.Output()
		if err != nil {
			return err
		}
		defer o.Abort()
		o.Write(make([]byte, 3<<20)) // past bufio's buffer: bytes went to the part buffer
		return io.ErrUnexpectedEOF
	})
	if code != 1 || srv.Get(t, "bkt", "out.arrows") != nil || len(srv.Uploads(t, "bkt")) != 0 {
		t.Fatalf("exit %d, object %v, uploads %v; want 1, no object, no upload", code, srv.Get(t, "bkt", "out.arrows") != nil, srv.Uploads(t, "bkt"))
	}
}

// TestHardStopAbortsUploads: a stage stopped by a signal leaves no object
// and no incomplete upload.
func TestHardStopAbortsUploads(t *testing.T) {
	srv := store(t)
	s, _ := stage(Streams)
	exited := make(chan int, 1)
	s.Exit = func(code int) { exited <- code }
	var got int
	s.Run(nil, strings.NewReader(""), io.Discard, io.Discard, func(ctx context.Context) error {
		o, err := CreateAtomic("s3://bkt/out.arrows")
		if err != nil {
			return err
		}
		o.Write(make([]byte, objstore.DefaultPartSize+1<<20)) // one part uploaded
		o.Flush()
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		select {
		case got = <-exited:
		case <-time.After(10 * time.Second):
		}
		return nil
	})
	if got != 130 || objstore.Pending() != 0 || srv.Get(t, "bkt", "out.arrows") != nil || len(srv.Uploads(t, "bkt")) != 0 {
		t.Fatalf("exit %d, pending %d, uploads %v; want 130, none, none", got, objstore.Pending(), srv.Uploads(t, "bkt"))
	}
}

// TestObjectErrorsAreOneLineNamingTheURL: a missing object, a refused
// credential and an unreachable endpoint each end the stage with exit 1
// and one line that names the URL and what to check.
func TestObjectErrorsAreOneLineNamingTheURL(t *testing.T) {
	store(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"missing object", nil, []string{"-i", "s3://bkt/dir/missing.arrows"},
			"demo: -i s3://bkt/dir/missing.arrows: no such object (check the bucket and key; 'aws s3 ls s3://bkt/dir/' lists what is there)\n"},
		{"missing bucket", nil, []string{"-o", "s3://nobucket/out.arrows"},
			"demo: -o s3://nobucket/out.arrows: no such object: there is no bucket nobucket (check the bucket and key; 'aws s3 ls s3://nobucket/' lists what is there)\n"},
		{"wrong secret", map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong"}, []string{"-i", "s3://bkt/x.arrows"},
			"demo: -i s3://bkt/x.arrows: access denied: SignatureDoesNotMatch: "},
		{"wrong secret writing", map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong"}, []string{"-o", "s3://bkt/x.arrows"},
			"demo: -o s3://bkt/x.arrows: access denied: "},
		{"unreachable", map[string]string{"AWS_ENDPOINT_URL": closed, "AWS_MAX_ATTEMPTS": "1"}, []string{"-i", "s3://bkt/x.arrows"},
			"demo: -i s3://bkt/x.arrows: endpoint unreachable: dial tcp " + closed[len("http://"):] + ": connect: connection refused (is the S3 server at AWS_ENDPOINT_URL=" + closed + " running? check its scheme, host and port)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s, _ := stage(Streams)
			code, _, stderr := runStage(s, "", tc.args, func(context.Context) error {
				in, err := s.Input()
				if err != nil {
					return err
				}
				defer in.Close()
				o, err := s.Output()
				if err != nil {
					return err
				}
				defer o.Abort()
				return o.Commit()
			})
			if code != 1 || !strings.HasPrefix(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 1 and one line starting %q", code, stderr, tc.want)
			}
			if tc.name == "wrong secret" && !strings.Contains(stderr, "(check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN") {
				t.Errorf("no hint of the credentials: %q", stderr)
			}
		})
	}
}

func TestObjectLogAppends(t *testing.T) {
	srv := store(t)
	for i, want := range []string{"a\n", "a\nb\n"} {
		l, err := OpenLog("s3://bkt/metrics.jsonl", i > 0)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(l, want[len(want)-2:])
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got := string(srv.Get(t, "bkt", "metrics.jsonl")); got != want {
			t.Errorf("log %d: %q, want %q", i, got, want)
		}
	}
	l, err := OpenLog("s3://bkt/metrics.jsonl", false) // truncates
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(l, "c\n")
	l.Close()
	if got := string(srv.Get(t, "bkt", "metrics.jsonl")); got != "c\n" {
		t.Errorf("truncated log: %q", got)
	}
}

func TestListDirAndJoinPath(t *testing.T) {
	store(t)
	for _, k := range []string{"ck/epoch-0001.arrows", "ck/step-0000012.arrows", "ck/sub/x", "ckz"} {
		o, err := CreateAtomic("s3://bkt/" + k)
		if err != nil {
			t.Fatal(err)
		}
		o.WriteString(k)
		if err := o.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"s3://bkt/ck/epoch-0001.arrows", "s3://bkt/ck/step-0000012.arrows"}
	for _, dir := range []string{"s3://bkt/ck", "s3://bkt/ck/"} {
		got, err := ListDir(dir)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ListDir(%s) = %v, %v; want %v", dir, got, err, want)
		}
		if p := JoinPath(dir, "epoch-0001.arrows"); p != want[0] {
			t.Errorf("JoinPath(%s, epoch-0001.arrows) = %s", dir, p)
		}
	}
	b, err := ReadAll(want[1])
	if err != nil || !bytes.Equal(b, []byte("ck/step-0000012.arrows")) {
		t.Errorf("ReadAll = %q, %v", b, err)
	}
	if got, err := ListDir(t.TempDir() + "/none"); err != nil || got != nil {
		t.Errorf("ListDir of a missing directory = %v, %v", got, err)
	}
}
