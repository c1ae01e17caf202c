package fmnist

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/siampipe/siampipe/internal/outfile"
)

// UpstreamURL is where the upstream project serves the gzip files.
const UpstreamURL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

// Download fetches files from baseURL into dir. Each file is written to a
// temporary file, its MD5 checked, and only then renamed into place, so an
// interrupted or corrupt download leaves nothing behind (package outfile: a
// symbolic link in dir is followed, a replaced file keeps its mode). Files already in
// dir with the right MD5 are kept. logf (may be nil) reports each file.
func Download(ctx context.Context, client *http.Client, baseURL, dir string, files []File, logf func(string, ...any)) error {
	if client == nil {
		client = http.DefaultClient
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	for _, f := range files {
		dst := filepath.Join(dir, f.Name)
		if sum, err := md5File(dst); err == nil && sum == f.MD5 {
			logf("%s: present, checksum ok", f.Name)
			continue
		}
		url := strings.TrimSuffix(baseURL, "/") + "/" + f.Name
		logf("downloading %s", url)
		if err := downloadOne(ctx, client, url, dst, f.MD5); err != nil {
			return fmt.Errorf("download %s: %w", f.Name, err)
		}
	}
	return nil
}

func downloadOne(ctx context.Context, client *http.Client, url, dst, wantMD5 string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	out, err := outfile.Create(dst)
	if err != nil {
		return err
	}
	defer out.Abort() // no-op after Commit
	h := md5.New()
	if _, err := io.Copy(io.MultiWriter(out, h), resp.Body); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantMD5 {
		return fmt.Errorf("MD5 %s, expected %s (corrupt download; try again)", got, wantMD5)
	}
	return out.Commit()
}

func md5File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
