package plot

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium runs headless Debian chromium on url with the extra flags and
// returns its stdout and the console lines it logged. The test fails when
// chromium is not installed: the HTML page is only tested in a real browser.
func chromium(t *testing.T, url string, extra ...string) (stdout string, console []string) {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("chromium not found: the HTML scatter is tested in a real browser; install it with `apt-get install -y chromium`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errOut.String())
	}
	// Chromium logs every console message, whatever its level, as
	// "...:INFO:CONSOLE(line)] "message", source: ...".
	for _, line := range strings.Split(errOut.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	return out.String(), console
}

func writePage(t *testing.T, p Points) string {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, p, HTMLOptions{Title: "browser test"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scatter.html")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

func TestHTMLRendersPointsInChromium(t *testing.T) {
	p := blobs(5000, 3, 10, 9)
	url := writePage(t, p)
	shot := filepath.Join(t.TempDir(), "shot.png")
	_, console := chromium(t, url, "--window-size=1000,700", "--screenshot="+shot)
	if len(console) > 0 {
		t.Errorf("the page logged to the console:\n%s", strings.Join(console, "\n"))
	}
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	per, nonWhite, size := colourCounts(t, b, 10)
	t.Logf("screenshot %v: %d non-white pixels, per class colour %v", size, nonWhite, per)
	if nonWhite < 20000 {
		t.Errorf("screenshot nearly blank: %d non-white pixels", nonWhite)
	}
	for c, n := range per {
		if n < 200 {
			t.Errorf("class %d: %d pixels of its colour in the screenshot", c, n)
		}
	}
}

func TestHTMLInteractionsWorkInChromium(t *testing.T) {
	p := blobs(3000, 3, 10, 5)
	dom, console := chromium(t, writePage(t, p)+"#selftest", "--window-size=1000,700", "--dump-dom")
	if len(console) > 0 {
		t.Errorf("the page logged to the console:\n%s", strings.Join(console, "\n"))
	}
	body := regexp.MustCompile(`<body[^>]*>`).FindString(dom)
	if !strings.Contains(body, `data-selftest="ok"`) {
		t.Errorf("self test of hover, legend, drag and wheel did not pass: %s", body)
	}
	if !strings.Contains(body, `data-drawn="3000"`) {
		t.Errorf("want all 3000 points drawn at the end: %s", body)
	}
	if got := strings.Count(dom, `title="click to hide or show`); got != 10 {
		t.Errorf("%d legend entries, want 10", got)
	}
}

// The checks above would see a broken page: a script error reaches the
// console lines, and the self test is not reported.
func TestBrowserHarnessSeesScriptErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.html")
	page := `<!DOCTYPE html><html><body><script>null.x;</script></body></html>`
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, console := chromium(t, "file://"+path+"#selftest", "--dump-dom")
	if len(console) == 0 || !strings.Contains(strings.Join(console, "\n"), "TypeError") {
		t.Errorf("script error not seen on the console: %q", console)
	}
	if strings.Contains(dom, "data-selftest") {
		t.Errorf("broken page reports a self test: %s", dom)
	}
}
