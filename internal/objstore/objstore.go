// Package objstore reads, writes and lists objects of S3-compatible stores
// (AWS S3, MinIO, Ceph RGW, Cloudflare R2, versitygw) named by
// s3://bucket/key URLs, with the same promises as siampipe's local files:
//
//   - a Writer streams: it holds one part of Config.PartSize bytes at a
//     time and uploads it as a part of a multipart upload, so memory stays
//     bounded whatever the object's size; the object appears only on
//     Commit, whole, and Abort (or a process stopped by a signal, see
//     AbortPending) leaves nothing;
//   - a Reader streams one GET from the start, and also reads at any offset
//     (io.ReaderAt, io.Seeker) with ranged GETs, for the formats that keep
//     their index at the end (Parquet, the Arrow IPC file format);
//   - a missing object or bucket, a refused credential and an unreachable
//     endpoint are errors that name the URL and wrap ErrNotFound, ErrAccess
//     or ErrUnreachable.
//
// It talks S3 through github.com/minio/minio-go/v7: a maintained client with
// a small dependency tree (no cloud SDK), whose multipart calls let a
// Writer upload fixed-size parts as they fill (bounded memory, no temporary
// file), and which speaks to any S3-compatible server, addressing buckets by
// path on a custom endpoint.
//
// The endpoint and credentials come from the standard variables (see
// ConfigFromEnv), so one binary works with AWS and with a local server.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Scheme starts every object URL.
const Scheme = "s3://"

// Part sizes of a Writer: S3 takes parts of 5 MiB and more (the last one
// may be smaller) and at most 10,000 of them, so the default makes objects
// of up to 160 GiB.
const (
	MinPartSize     = 5 << 20
	DefaultPartSize = 16 << 20
	maxParts        = 10000
)

// The kinds of failure, wrapped by the errors of Open, Create, List and of
// the readers and writers they return; test with errors.Is.
var (
	ErrNotFound    = errors.New("no such object")
	ErrAccess      = errors.New("access denied")
	ErrUnreachable = errors.New("endpoint unreachable")
)

// IsURL reports whether s names an object (or prefix) rather than a local
// path: whether it starts with s3://.
func IsURL(s string) bool { return strings.HasPrefix(s, Scheme) }

// URL is a parsed s3://bucket/key.
type URL struct {
	Bucket string
	Key    string // "" for the bucket itself; a prefix ends with "/"
}

// ParseURL parses s3://bucket/key. The key may be empty or end with "/" (a
// prefix, for List); Open and Create refuse those.
func ParseURL(s string) (URL, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return URL{}, fmt.Errorf("%s: not an s3:// URL", s)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return URL{}, fmt.Errorf("%s: no bucket (use s3://bucket/key)", s)
	}
	return URL{Bucket: bucket, Key: key}, nil
}

// String returns the URL as s3://bucket/key.
func (u URL) String() string { return Scheme + u.Bucket + "/" + u.Key }

// Config says where the store is and who we are. The zero value is AWS S3
// with anonymous access, its region looked up per bucket.
type Config struct {
	// Endpoint is the store's URL, http://host:port or https://host:port
	// (the scheme decides TLS); "" is AWS S3. A custom endpoint addresses
	// buckets by path (http://host/bucket/key), as MinIO, Ceph and
	// versitygw expect; AWS's by virtual host.
	Endpoint string
	// Region signs the requests; "" asks the store for each bucket's
	// (us-east-1 on most S3-compatible servers).
	Region string
	// AccessKey and SecretKey sign the requests; both empty is anonymous
	// access (public buckets). SessionToken is the temporary credentials'
	// token, if any.
	AccessKey, SecretKey, SessionToken string
	// PartSize is a Writer's part: the memory it holds and the size of each
	// uploaded part. 0 is DefaultPartSize; less than MinPartSize is raised
	// to it.
	PartSize int64
	// MaxAttempts bounds the tries of each request (transient failures are
	// retried with backoff); 0 is minio-go's default of 10.
	MaxAttempts int
}

// ConfigFromEnv returns the configuration the standard variables give:
// AWS_ENDPOINT_URL_S3 or else AWS_ENDPOINT_URL (http:// or https://),
// AWS_REGION or else AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_MAX_ATTEMPTS. Shared
// credential files and instance roles are not consulted.
func ConfigFromEnv() Config {
	first := func(names ...string) string {
		for _, n := range names {
			if v := os.Getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	c := Config{
		Endpoint:     first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		Region:       first("AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKey:    os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretKey:    os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
	}
	if n, err := strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS")); err == nil && n > 0 {
		c.MaxAttempts = n
	}
	return c
}

// Client reads and writes the objects of one store. It is safe for
// concurrent use.
type Client struct {
	core     minio.Core
	partSize int64
	endpoint string // as configured, for messages
}

// New returns a client of the store cfg describes. It sends nothing: a
// wrong endpoint or credential shows at the first request.
func New(cfg Config) (*Client, error) {
	host, secure := "s3.amazonaws.com", true
	lookup := minio.BucketLookupAuto
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("endpoint %q: want http://host[:port] or https://host[:port] (AWS_ENDPOINT_URL)", cfg.Endpoint)
		}
		if u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("endpoint %q: a path is not supported, give the server's root URL (AWS_ENDPOINT_URL)", cfg.Endpoint)
		}
		host, secure, lookup = u.Host, u.Scheme == "https", minio.BucketLookupPath
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	} else {
		creds = credentials.New(&credentials.Static{}) // anonymous: unsigned requests
	}
	mc, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxAttempts,
	})
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", cfg.Endpoint, err)
	}
	ps := cfg.PartSize
	switch {
	case ps == 0:
		ps = DefaultPartSize
	case ps < MinPartSize:
		ps = MinPartSize
	}
	ep := cfg.Endpoint
	if ep == "" {
		ep = "https://" + host
	}
	return &Client{core: minio.Core{Client: mc}, partSize: ps, endpoint: ep}, nil
}

// Endpoint returns the URL of the store the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// PartSize returns the size of a Writer's parts.
func (c *Client) PartSize() int64 { return c.partSize }

var defaults struct {
	sync.Mutex
	m map[Config]*Client
}

// Default returns a client configured by ConfigFromEnv, the same one for as
// long as the variables do not change.
func Default() (*Client, error) {
	cfg := ConfigFromEnv()
	defaults.Lock()
	defer defaults.Unlock()
	if c, ok := defaults.m[cfg]; ok {
		return c, nil
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if defaults.m == nil {
		defaults.m = map[Config]*Client{}
	}
	defaults.m[cfg] = c
	return c, nil
}

// Object is one entry of a listing.
type Object struct {
	URL  string // s3://bucket/key
	Key  string
	Size int64
}

// List returns the objects whose keys start with the prefix of the URL
// s3://bucket/prefix, at any depth, in key order. An empty result is not
// an error; a missing bucket is.
func (c *Client) List(ctx context.Context, prefix string) ([]Object, error) {
	u, err := ParseURL(prefix)
	if err != nil {
		return nil, err
	}
	var out []Object
	for o := range c.core.ListObjectsIter(ctx, u.Bucket, minio.ListObjectsOptions{Prefix: u.Key, Recursive: true}) {
		if o.Err != nil {
			return nil, classify(prefix, o.Err)
		}
		out = append(out, Object{URL: Scheme + u.Bucket + "/" + o.Key, Key: o.Key, Size: o.Size})
	}
	return out, nil
}

// Remove deletes the object at name. A missing object is not an error (S3
// answers a delete of one with success).
func (c *Client) Remove(ctx context.Context, name string) error {
	u, err := objectURL(name)
	if err != nil {
		return err
	}
	if err := c.core.RemoveObject(ctx, u.Bucket, u.Key, minio.RemoveObjectOptions{}); err != nil {
		return classify(name, err)
	}
	return nil
}

// objectURL parses s and refuses a URL that names no object.
func objectURL(s string) (URL, error) {
	u, err := ParseURL(s)
	if err != nil {
		return URL{}, err
	}
	if u.Key == "" || strings.HasSuffix(u.Key, "/") {
		return URL{}, fmt.Errorf("%s: names a prefix, not an object (add the object's name)", s)
	}
	return u, nil
}

// classify turns a minio-go error about the object at name into one that
// names it and wraps the kind of failure, if it is one of ours.
func classify(name string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", name, err)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	case "NoSuchBucket":
		b, _ := ParseURL(name)
		return fmt.Errorf("%s: %w: there is no bucket %s", name, ErrNotFound, b.Bucket)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
		"InvalidToken", "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem", "InvalidSecurity",
		"XAdminUserNotFound": // versitygw's answer to an unknown access key (404)
		return fmt.Errorf("%s: %w: %s", name, ErrAccess, detail(resp))
	case "":
		if resp.StatusCode == 0 && isNetwork(err) {
			return fmt.Errorf("%s: %w: %v", name, ErrUnreachable, netCause(err))
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if resp.StatusCode == 403 {
		return fmt.Errorf("%s: %w: %s", name, ErrAccess, detail(resp))
	}
	if resp.StatusCode == 404 {
		return fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return fmt.Errorf("%s: %s", name, detail(resp))
}

// detail is the server's code and message, in one line; the message
// alone when it only spells the code out ("AccessDenied: Access Denied").
func detail(r minio.ErrorResponse) string {
	msg := strings.TrimSuffix(strings.Join(strings.Fields(r.Message), " "), ".")
	switch {
	case msg == "":
		return r.Code
	case r.Code == "" || strings.EqualFold(strings.ReplaceAll(msg, " ", ""), r.Code):
		return msg
	}
	return r.Code + ": " + msg
}

// isNetwork reports whether err is a failure to reach the endpoint (no
// HTTP response at all): a refused or reset connection, a name that does
// not resolve, a timeout, a TLS handshake that failed.
func isNetwork(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

// netCause is the innermost useful text of a network error: "dial tcp
// 127.0.0.1:9: connect: connection refused" rather than the whole request.
func netCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
