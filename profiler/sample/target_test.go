package sample

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyprof/pyprof/internal/testpython"
)

// python is an interpreter found on this machine.
type python struct {
	path         string
	major, minor int
}

func (p python) name() string { return fmt.Sprintf("py%d.%d", p.major, p.minor) }

var (
	pythonsOnce sync.Once
	pythons     []python // every working CPython 3.x found, one per minor
	// no314 says why there is no CPython 3.14, when there is none.
	no314 error
)

// findPythons lists working interpreters of 3.11 and newer (3.11 to test
// the refusal) from pyenv's versions, then PATH for minors still missing.
// A pyenv shim that is not selected fails to run and is left out. When no
// 3.14 is installed, one is extracted and put on PATH first (testpython).
func findPythons() []python {
	pythonsOnce.Do(func() {
		_, no314 = testpython.Provide314()
		var cands []string
		home, _ := os.UserHomeDir()
		for _, root := range []string{os.Getenv("PYENV_ROOT"), filepath.Join(home, ".pyenv"), "/root/.pyenv"} {
			if root != "" {
				m, _ := filepath.Glob(filepath.Join(root, "versions", "*", "bin", "python3.*"))
				cands = append(cands, m...)
			}
		}
		for minor := 11; minor <= 20; minor++ {
			if p, err := exec.LookPath(fmt.Sprintf("python3.%d", minor)); err == nil {
				cands = append(cands, p)
			}
		}
		seen := map[int]bool{}
		for _, c := range cands {
			m := exeNameRe.FindStringSubmatch(filepath.Base(c))
			if m == nil {
				continue
			}
			if minor, _ := strconv.Atoi(m[1]); minor < 11 || seen[minor] {
				continue
			}
			if py, ok := pythonAt(c); ok && !seen[py.minor] {
				seen[py.minor] = true
				pythons = append(pythons, py)
			}
		}
		slices.SortFunc(pythons, func(a, b python) int { return a.minor - b.minor })
	})
	return pythons
}

// exeNameRe matches plain CPython builds: python3.N, not python3.Nt or
// python3.N-config.
var exeNameRe = regexp.MustCompile(`^python3\.(\d+)$`)

// pythonAt returns the interpreter at c. One of pyenv's own builds is
// named for its version; anything else (a shim on PATH) is run to check
// that it works and to learn its version.
func pythonAt(c string) (python, bool) {
	if m := exeNameRe.FindStringSubmatch(filepath.Base(c)); m != nil && strings.Contains(c, "/versions/") {
		if st, err := os.Stat(c); err == nil && st.Mode()&0o111 != 0 {
			minor, _ := strconv.Atoi(m[1])
			return python{path: c, major: 3, minor: minor}, true
		}
	}
	return probePython(c)
}

// probePython runs c to learn its version.
func probePython(c string) (python, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c, "-c", "import sys; print(*sys.version_info[:2])").Output()
	if err != nil {
		return python{}, false
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return python{}, false
	}
	major, _ := strconv.Atoi(f[0])
	minor, _ := strconv.Atoi(f[1])
	return python{path: c, major: major, minor: minor}, true
}

// supportedPythons returns the interpreters of 3.12 up to the newest
// version this build knows; the test fails when there is none, since then
// nothing would be tested.
func supportedPythons(t testing.TB) []python {
	t.Helper()
	var out []python
	for _, p := range findPythons() {
		if p.major == 3 && p.minor >= 12 && p.minor <= newestKnown {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no Python 3.12 to 3.%d found under ~/.pyenv/versions or on PATH", newestKnown)
	}
	return out
}

// forEachPython runs fn as a subtest per supported interpreter, and notes
// the expected ones that are absent, and why.
func forEachPython(t *testing.T, fn func(t *testing.T, py python)) {
	t.Helper()
	pys := supportedPythons(t)
	for minor := 12; minor <= newestKnown; minor++ {
		if !slices.ContainsFunc(pys, func(p python) bool { return p.minor == minor }) {
			why := fmt.Sprintf("python3.%d not found", minor)
			if minor == testpython.Minor && no314 != nil {
				why = no314.Error()
			}
			t.Run(fmt.Sprintf("py3.%d", minor), func(t *testing.T) { t.Skip(why) })
		}
	}
	for _, py := range pys {
		t.Run(py.name(), func(t *testing.T) { fn(t, py) })
	}
}

// scriptPath returns the path of a target program under testdata/sample.
func scriptPath(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "sample", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// target is a running target program.
type target struct {
	cmd   *exec.Cmd
	pid   int
	lines []string // stdout lines before "ready"
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startTarget starts script under py, waits for it to print "ready" and
// kills it when the test ends.
func startTarget(t testing.TB, py python, script string, args ...string) *target {
	t.Helper()
	cmd := exec.Command(py.path, append([]string{"-u", scriptPath(t, script)}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	tg := &target{cmd: cmd, pid: cmd.Process.Pid, stdin: stdin, out: bufio.NewScanner(stdout)}
	tg.waitFor(t, "ready")
	return tg
}

// waitFor reads stdout lines until one equals want, keeping the others.
func (tg *target) waitFor(t testing.TB, want string) {
	t.Helper()
	done := make(chan bool, 1)
	go func() {
		for tg.out.Scan() {
			if tg.out.Text() == want {
				done <- true
				return
			}
			tg.lines = append(tg.lines, tg.out.Text())
		}
		done <- false
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatalf("target exited before printing %q", want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("target did not print %q in 30s", want)
	}
}

// attach attaches to tg and closes the Process when the test ends.
func attach(t testing.TB, tg *target) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := AttachWait(ctx, tg.pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

var markerRe = regexp.MustCompile(`# @(\w+)\s*$`)

// markers maps the "# @name" markers of a script to their line numbers.
func markers(t testing.TB, script string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(scriptPath(t, script))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for i, line := range strings.Split(string(b), "\n") {
		if m := markerRe.FindStringSubmatch(line); m != nil {
			out[m[1]] = i + 1
		}
	}
	return out
}
