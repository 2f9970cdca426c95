package flamegraph

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The browser tests drive headless Chromium through chromedriver's W3C
// WebDriver HTTP API with net/http: no Go dependency, and nothing leaves
// the loopback interface.
const (
	chromiumPath     = "/usr/bin/chromium"
	chromedriverPath = "/usr/bin/chromedriver"
	// elementKey is the W3C name of an element reference in JSON.
	elementKey = "element-6066-11e4-a52e-4f735466cecf"
)

// browser is one WebDriver session on a chromedriver the test started.
type browser struct {
	t      testing.TB
	base   string // session URL
	client *http.Client
}

// startBrowser starts chromedriver and a headless Chromium session, both
// ended by t.Cleanup. It skips the test when either binary is missing.
func startBrowser(t testing.TB) *browser {
	t.Helper()
	for _, p := range []string{chromiumPath, chromedriverPath} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("browser test needs %s and %s (apt-get install chromium chromium-driver): %v", chromiumPath, chromedriverPath, err)
		}
	}
	port := freePort(t)
	cmd := exec.Command(chromedriverPath, "--port="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromedriver: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// Proxy nil: a proxy from the environment must never see these calls.
	b := &browser{t: t, client: &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 60 * time.Second}}
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	b.waitReady(root)
	b.newSession(root)
	return b
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (b *browser) waitReady(root string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := b.call(http.MethodGet, root+"/status", nil, &status); err == nil && status.Ready {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatal("chromedriver did not become ready in 20s")
}

func (b *browser) newSession(root string) {
	b.t.Helper()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--window-size=1280,1000",
		"--user-data-dir=" + b.t.TempDir(),
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName":        "chrome",
		"goog:chromeOptions": map[string]any{"binary": chromiumPath, "args": args},
	}}}
	var session struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(http.MethodPost, root+"/session", caps, &session); err != nil {
		b.t.Fatalf("starting Chromium: %v", err)
	}
	b.base = root + "/session/" + session.SessionID
	b.t.Cleanup(func() {
		if b.t.Failed() {
			b.saveScreenshot()
		}
		b.call(http.MethodDelete, b.base, nil, nil)
	})
}

// call sends a WebDriver command and decodes the "value" of its answer
// into out.
func (b *browser) call(method, url string, body, out any) error {
	var in io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return err
		}
		in = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, url, in)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("%s %s: status %s: %w", method, url, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %s: %s", method, url, resp.Status, answer.Value)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(answer.Value, out)
}

// do is call on the session that fails the test on error.
func (b *browser) do(method, path string, body, out any) {
	b.t.Helper()
	if err := b.call(method, b.base+path, body, out); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) open(file string) {
	b.t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		b.t.Fatal(err)
	}
	b.do(http.MethodPost, "/url", map[string]any{"url": "file://" + abs}, nil)
}

// run executes script (a function body; arguments in `arguments`) and
// decodes its result into out.
func (b *browser) run(out any, script string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	b.do(http.MethodPost, "/execute/sync", map[string]any{"script": script, "args": args}, out)
}

// runAsync is run for scripts that finish by calling their last argument.
func (b *browser) runAsync(out any, script string, args ...any) {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	b.do(http.MethodPost, "/execute/async", map[string]any{"script": script, "args": args}, out)
}

func (b *browser) find(css string) string {
	b.t.Helper()
	var ref map[string]string
	b.do(http.MethodPost, "/element", map[string]any{"using": "css selector", "value": css}, &ref)
	if ref[elementKey] == "" {
		b.t.Fatalf("no element %q", css)
	}
	return ref[elementKey]
}

func (b *browser) click(elem string) {
	b.t.Helper()
	b.do(http.MethodPost, "/element/"+elem+"/click", map[string]any{}, nil)
}

// typeInto clicks elem, as a user would, then types text. Without the
// click the keys never reached the search box inside the SVG's
// foreignObject (its value stayed empty).
func (b *browser) typeInto(elem, text string) {
	b.t.Helper()
	b.click(elem)
	b.do(http.MethodPost, "/element/"+elem+"/value", map[string]any{"text": text}, nil)
}

// hover moves the mouse to the centre of elem.
func (b *browser) hover(elem string) {
	b.t.Helper()
	b.actions(map[string]any{
		"type": "pointer", "id": "mouse", "parameters": map[string]any{"pointerType": "mouse"},
		"actions": []any{map[string]any{
			"type": "pointerMove", "duration": 0, "x": 0, "y": 0,
			"origin": map[string]any{elementKey: elem},
		}},
	})
}

// chord presses modifier+key, e.g. "\uE009" (Control) and "f".
func (b *browser) chord(modifier, key string) {
	b.t.Helper()
	b.actions(map[string]any{
		"type": "key", "id": "keyboard",
		"actions": []any{
			map[string]any{"type": "keyDown", "value": modifier},
			map[string]any{"type": "keyDown", "value": key},
			map[string]any{"type": "keyUp", "value": key},
			map[string]any{"type": "keyUp", "value": modifier},
		},
	})
}

func (b *browser) actions(sources ...any) {
	b.t.Helper()
	b.do(http.MethodPost, "/actions", map[string]any{"actions": sources}, nil)
}

// saveScreenshot keeps a picture of a failed test where it survives the
// test (t.TempDir does not): under $PYPROF_ARTIFACTS when set, for CI to
// upload, else a fresh temporary directory.
func (b *browser) saveScreenshot() {
	var shot string
	if err := b.call(http.MethodGet, b.base+"/screenshot", nil, &shot); err != nil {
		b.t.Logf("no screenshot: %v", err)
		return
	}
	png, err := base64.StdEncoding.DecodeString(shot)
	if err == nil {
		err = b.writeShot(png)
	}
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
	}
}

func (b *browser) writeShot(png []byte) error {
	dir := os.Getenv("PYPROF_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "pyprof-flamegraph-"); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, b.t.Name()+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return errors.Join(errors.New("writing screenshot"), err)
	}
	b.t.Logf("screenshot of the failure: %s", path)
	return nil
}

// screenshot saves the current page as a PNG at path.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	var shot string
	b.do(http.MethodGet, "/screenshot", nil, &shot)
	png, err := base64.StdEncoding.DecodeString(shot)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
