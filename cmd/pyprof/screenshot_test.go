package main

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/profiler/agent"
)

// Tools the screenshots need: a terminal multiplexer, so that pyprof
// writes to a real terminal, and a headless browser to picture it.
const (
	tmuxPath     = "tmux"
	chromiumPath = "/usr/bin/chromium"
	// Size of the terminal the pictures show.
	termCols, termRows = 110, 36
)

// TestScreenshots takes the README's pictures the way a person meets
// pyprof: record's exit tree and report on a terminal (in tmux), and the
// flame graphs of an import-heavy program and of a thread pool in headless
// Chromium. It checks what each shows; with PYPROF_UPDATE_SCREENSHOTS=1 it
// also writes them to docs/screenshots, where the README shows them.
func TestScreenshots(t *testing.T) {
	for _, tool := range []string{tmuxPath, chromiumPath} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("screenshots need tmux and chromium (apt-get install tmux chromium): %v", err)
		}
	}
	pythons := agent.All()
	if len(pythons) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pyprof")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, prog := range []string{"imports.py", "pool.py", "crawler.py"} {
		copyFile(t, filepath.Join("testdata", "screenshots", prog), filepath.Join(dir, prog))
	}
	py := pictured(pythons).Executable
	// Once unprofiled, so that the imports are read from compiled files as
	// on any second run, not compiled.
	warm := exec.Command(py, "imports.py")
	warm.Dir = dir
	if out, err := warm.CombinedOutput(); err != nil {
		t.Fatalf("imports.py: %v\n%s", err, out)
	}
	term := startTerminal(t, dir, bin, filepath.Dir(py))
	py = filepath.Base(py)

	exitTree := term.run(t, fmt.Sprintf("pyprof record -o imports.pb.gz -o imports.svg -- %s imports.py", py))
	for _, want := range []string{"Where the time went", "__main__.<module>  ×1  imports.py:1", "look further: pyprof report imports.pb.gz"} {
		if !strings.Contains(exitTree, want) {
			t.Errorf("record's exit tree lacks %q:\n%s", want, exitTree)
		}
	}
	// Which imports weigh most varies from run to run; that they are
	// most of the lines does not.
	if n := strings.Count(exitTree, "%  import "); n < 5 {
		t.Errorf("record's exit tree shows %d imports, want most of its lines:\n%s", n, exitTree)
	}
	if strings.Contains(exitTree, "_find_and_load") {
		t.Errorf("record's exit tree shows the import machinery:\n%s", exitTree)
	}
	term.run(t, fmt.Sprintf("pyprof record -q -o pool.pb.gz -o pool.svg -- %s pool.py", py))
	rep := term.run(t, "pyprof report --top 15 --sort cum pool.pb.gz")
	for _, line := range strings.Split(rep, "\n") {
		if n := len([]rune(line)); n > termCols {
			t.Errorf("a report line of %d columns on a %d-column terminal: %q", n, termCols, line)
		}
	}
	for _, want := range []string{"__main__.handle", "__main__.fetch", "pool.py:28"} {
		if !strings.Contains(rep, want) {
			t.Errorf("the report lacks %s:\n%s", want, rep)
		}
	}
	diffText := term.run(t, fmt.Sprintf("POOL_REGRESSION=1 pyprof record -q -o pool-slow.pb.gz -- %s pool.py >/dev/null; "+
		"pyprof diff --sample-type calls pool.pb.gz pool-slow.pb.gz -o diff.svg", py))
	checkDiffPicture(t, diffText, filepath.Join(dir, "diff.svg"))
	term.run(t, fmt.Sprintf("pyprof record -q -o crawler.svg -- %s crawler.py", py))
	checkCrawlerPicture(t, filepath.Join(dir, "crawler.svg"))

	shots := map[string]string{
		"exit-tree.png":          terminalPicture(t, dir, "exit-tree", exitTree),
		"report.png":             terminalPicture(t, dir, "report", rep),
		"flamegraph-imports.png": svgPicture(t, filepath.Join(dir, "imports.svg")),
		"flamegraph-pool.png":    svgPicture(t, filepath.Join(dir, "pool.svg")),
		"flamegraph-crawler.png": svgPicture(t, filepath.Join(dir, "crawler.svg")),
		"flamegraph-diff.png":    svgPicture(t, filepath.Join(dir, "diff.svg")),
	}
	if os.Getenv("PYPROF_UPDATE_SCREENSHOTS") == "" {
		return
	}
	out := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, png := range shots {
		copyFile(t, png, filepath.Join(out, name))
	}
}

// checkDiffPicture checks the diff of the thread pool against its planted
// regression, a function called once more per row: the diff names it
// first, and the differential flame graph draws it.
func checkDiffPicture(t *testing.T, text, svg string) {
	t.Helper()
	first := regexp.MustCompile(`(?m)^\s+\+\S+.*$`).FindString(text)
	if !strings.Contains(first, "copy_row") {
		t.Errorf("the diff's first function is not copy_row, the planted regression:\n%s", text)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatalf("the diff wrote no flame graph: %v\n%s", err, text)
	}
	for _, want := range []string{"Differential", "copy_row"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("the differential flame graph lacks %q", want)
		}
	}
}

// checkCrawlerPicture checks the asyncio crawler's flame graph shows its
// coroutines.
func checkCrawlerPicture(t *testing.T, svg string) {
	t.Helper()
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatalf("the crawler's record wrote no flame graph: %v", err)
	}
	for _, want := range []string{"crawl", "fetch", "parse"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("the crawler's flame graph lacks %q", want)
		}
	}
}

// pictured picks the interpreter the pictures show: a released one that
// people have (3.12 or 3.13), else the newest.
func pictured(pythons []*agent.Interpreter) *agent.Interpreter {
	for _, p := range pythons {
		if p.Version[0] == 3 && p.Version[1] <= 13 {
			return p
		}
	}
	return pythons[0]
}

// terminal is a tmux server of the test's own, with one window.
type terminal struct {
	socket string
	dir    string
}

func startTerminal(t *testing.T, dir, bin, pythonDir string) *terminal {
	t.Helper()
	term := &terminal{socket: fmt.Sprintf("pyprof-test-%d", os.Getpid()), dir: dir}
	// A plain prompt and PATH to the pyprof just built.
	cmd := exec.Command(tmuxPath, "-L", term.socket, "-f", "/dev/null", "new-session", "-d",
		"-x", fmt.Sprint(termCols), "-y", fmt.Sprint(termRows), "-c", dir,
		"env", "PS1=$ ", "PATH="+filepath.Dir(bin)+":"+pythonDir+":"+os.Getenv("PATH"), "TERM=xterm-256color", "sh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(tmuxPath, "-L", term.socket, "kill-server").Run() })
	return term
}

// run types line into the terminal, waits for it to finish and returns
// the screen: the command line and what it printed.
func (term *terminal) run(t *testing.T, line string) string {
	t.Helper()
	term.tmux(t, "send-keys", "clear", "Enter")
	time.Sleep(200 * time.Millisecond)
	const done = "__done__"
	term.tmux(t, "send-keys", line+"; echo "+done, "Enter")
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		screen := term.tmux(t, "capture-pane", "-p")
		if i := strings.LastIndex(screen, "\n"+done); i >= 0 {
			return strings.TrimRight(strings.Replace(screen[:i], "; echo "+done, "", 1), "\n") + "\n"
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not finish; the screen:\n%s", line, term.tmux(t, "capture-pane", "-p"))
	return ""
}

func (term *terminal) tmux(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(tmuxPath, append([]string{"-L", term.socket}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux %s: %v\n%s", args[0], err, out)
	}
	return string(out)
}

// terminalPicture renders a terminal's text as a terminal shows it.
func terminalPicture(t *testing.T, dir, name, text string) string {
	t.Helper()
	lines := strings.Count(text, "\n") + 1
	page := filepath.Join(dir, name+".html")
	doc := `<!doctype html><meta charset="utf-8"><style>
body { margin: 0; background: #1e1e1e; }
pre { margin: 0; padding: 12px 14px; color: #e6e6e6; font: 14px/18px "DejaVu Sans Mono", monospace; }
</style><pre>` + html.EscapeString(text) + `</pre>`
	if err := os.WriteFile(page, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return browserPicture(t, page, termCols*17/2+30, lines*18+24)
}

// svgPicture screenshots a flame graph in a window of its default size.
func svgPicture(t *testing.T, svg string) string {
	t.Helper()
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	var w, h int
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("%s has no viewBox", svg)
	}
	fmt.Sscan(string(m[1])+" "+string(m[2]), &w, &h)
	return browserPicture(t, svg, w, h)
}

// browserPicture screenshots a page in headless Chromium.
func browserPicture(t *testing.T, page string, width, height int) string {
	t.Helper()
	png := strings.TrimSuffix(page, filepath.Ext(page)) + ".png"
	cmd := exec.Command(chromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(filepath.Dir(page), "chromium-profile"),
		fmt.Sprintf("--window-size=%d,%d", width, height), "--screenshot="+png, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	data, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Fatalf("chromium wrote no picture of %s: %v", page, err)
	}
	return png
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
