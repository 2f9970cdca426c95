package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Interpreter is what pyprof knows of a Python after probing it.
type Interpreter struct {
	// Path is how pyprof runs it (as given, or as found).
	Path       string
	Executable string // sys.executable
	Version    [3]int
	// FreeThreaded is true for builds without the GIL (Py_GIL_DISABLED).
	FreeThreaded   bool
	HasMonitoring  bool
	Implementation string
	// FromFile says the facts were read from the executable (see
	// factsFromFile), not given by the running interpreter.
	FromFile bool `json:"-"`
	// Launch, when set, is what runs the program in place of Path: for a
	// pyenv shim, the interpreter the shim chose, with the environment the
	// shim gave it. Never cached: it holds the environment.
	Launch *Launch `json:"-"`
}

// Launch is an executable and the whole environment to run it with.
type Launch struct {
	Path string
	Env  []string
}

// RunPath is the executable that runs programs: Launch's when set.
func (i *Interpreter) RunPath() string {
	if i.Launch != nil {
		return i.Launch.Path
	}
	return i.Path
}

// Environ is the environment a program starts from: the one the shim
// would have given it, else pyprof's own.
func (i *Interpreter) Environ() []string {
	if i.Launch != nil {
		return slices.Clone(i.Launch.Env)
	}
	return os.Environ()
}

// VersionString is "3.12.1".
func (i *Interpreter) VersionString() string {
	return fmt.Sprintf("%d.%d.%d", i.Version[0], i.Version[1], i.Version[2])
}

// Supported reports whether pyprof can record it: CPython 3.12 or newer,
// which has sys.monitoring.
func (i *Interpreter) Supported() bool {
	return i.HasMonitoring && (i.Version[0] > 3 || i.Version[0] == 3 && i.Version[1] >= 12)
}

// probeScript must run on any Python so that an old interpreter can be
// named and refused, not crash. It runs with -I -S and imports nothing:
// on a first run, with nothing cached, its start is part of pyprof's own
// (json and sysconfig took longer than the interpreter's start). It
// writes NUL-terminated KEY=VALUE fields; with the argument "environ",
// one env=NAME=VALUE field per variable it was started with. A
// free-threaded build (Py_GIL_DISABLED) has "t" in its ABI flags.
const probeScript = `import sys
out = getattr(sys.stdout, "buffer", sys.stdout)
def put(key, value):
    if not isinstance(value, bytes):
        value = value.encode("utf-8", "surrogateescape")
    out.write(key.encode("ascii") + b"=" + value + b"\0")
put("executable", sys.executable or "")
put("version", "%d.%d.%d" % tuple(sys.version_info[:3]))
put("free_threaded", str(int("t" in getattr(sys, "abiflags", ""))))
put("monitoring", str(int(hasattr(sys, "monitoring"))))
put("implementation", getattr(getattr(sys, "implementation", None), "name", "cpython"))
if sys.argv[1:] == ["environ"]:
    import posix
    for name, value in posix.environ.items():
        put("env", name + b"=" + value)
`

// ErrNotPython is returned by Probe for a program that is not a working
// Python interpreter.
var ErrNotPython = errors.New("not a working Python interpreter")

// Probe runs path to learn what it is. A pyenv shim can exist on PATH and
// still refuse to run, so existence proves nothing. What a real executable
// says is cached (see probeCache): probing costs a whole interpreter start.
func Probe(path string) (*Interpreter, error) {
	key := probeKey(path)
	if key == "" && isPyenvShim(path) {
		return probeShim(path)
	}
	if i := loadProbe(key); i != nil {
		// The cache is keyed by the real file: a venv's python, a link to
		// it, shares the entry of whichever path probed it first, and
		// Python names itself by the path it was started as.
		i.Path, i.Executable = path, absolute(path)
		return i, nil
	}
	i, err := probe(path)
	if err == nil {
		storeProbe(key, i)
	}
	return i, err
}

// Identify is Probe for an interpreter the user named: what its file says
// (see factsFromFile) is taken without starting it, so that a first run
// pays no interpreter start besides the program's own. Discovery, which
// must tell a working interpreter from one that merely exists, probes.
func Identify(path string) (*Interpreter, error) {
	key := probeKey(path)
	if i := loadProbe(key); i != nil {
		// The cache is keyed by the real file: a venv's python, a link to
		// it, shares the entry of whichever path probed it first, and
		// Python names itself by the path it was started as.
		i.Path, i.Executable = path, absolute(path)
		return i, nil
	}
	if key != "" {
		if i, err := factsFromFile(path); err == nil {
			return i, nil
		}
	}
	return Probe(path)
}

// probeTimeout bounds a probe: an interpreter starts in well under a
// second, a wrapper that hangs must not hang pyprof.
var probeTimeout = 15 * time.Second

// probeRuns counts the interpreters probe started, for tests.
var probeRuns atomic.Int32

func probe(path string) (*Interpreter, error) {
	probeRuns.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	shim := isPyenvShim(path)
	args := []string{"-I", "-S", "-c", probeScript}
	if shim {
		args = append(args, "environ")
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = nil
	boundWait(cmd)
	out, err := cmd.Output()
	// ErrWaitDelay: the interpreter exited well, and something it left
	// behind (a wrapper's background job) still holds its output open.
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if said := firstLine(exit.Stderr); said != "" {
				// A wrapper's own reason: pyenv's "command not found".
				return nil, fmt.Errorf("%s: %w (it said: %s)", path, ErrNotPython, said)
			}
		}
		// The cause stays with the error (one of pyprof's own, such as no
		// file descriptor left to make the pipes with).
		return nil, fmt.Errorf("%s: %w: %w", path, ErrNotPython, err)
	}
	facts, ok := parseProbe(out)
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, ErrNotPython)
	}
	i := &Interpreter{
		Path: path, Executable: facts.executable, Version: facts.version,
		FreeThreaded:  facts.freeThreaded,
		HasMonitoring: facts.monitoring, Implementation: facts.implementation,
	}
	if shim && facts.environ != nil && filepath.IsAbs(facts.executable) {
		i.Launch = &Launch{Path: facts.executable, Env: facts.environ}
	}
	return i, nil
}

// firstLine returns the first line of text that is not blank, trimmed and
// cut to 200 bytes: one line of a message, never a screenful.
func firstLine(text []byte) string {
	for _, line := range strings.Split(string(text), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 200 {
				line = line[:200] + "..."
			}
			return strings.ToValidUTF8(line, "?")
		}
	}
	return ""
}

// boundWait makes the timeout of cmd, an interpreter or a wrapper script
// pyprof runs to learn about it, end the run: the kill reaches everything
// the script started (its process group), and pyprof stops waiting for
// output a leftover holds open soon after.
func boundWait(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
}

// probeFacts is what probeScript writes.
type probeFacts struct {
	executable, implementation string
	version                    [3]int
	freeThreaded, monitoring   bool
	// environ holds the env fields, sorted so that runs are reproducible;
	// nil when there were none.
	environ []string
}

// parseProbe reads probeScript's fields; ok is false unless every one of
// them came, well formed.
func parseProbe(out []byte) (probeFacts, bool) {
	var f probeFacts
	seen := map[string]bool{}
	for _, field := range strings.Split(string(out), "\x00") {
		key, value, found := strings.Cut(field, "=")
		if !found {
			continue
		}
		seen[key] = true
		switch key {
		case "executable":
			f.executable = value
		case "implementation":
			f.implementation = value
		case "free_threaded":
			f.freeThreaded = value == "1"
		case "monitoring":
			f.monitoring = value == "1"
		case "env":
			f.environ = append(f.environ, value)
		case "version":
			if !parseVersion(value, &f.version) {
				return f, false
			}
		}
	}
	sort.Strings(f.environ)
	for _, key := range []string{"executable", "version", "free_threaded", "monitoring", "implementation"} {
		if !seen[key] {
			return f, false
		}
	}
	return f, true
}

// parseVersion reads "3.12.1".
func parseVersion(s string, v *[3]int) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for k, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		v[k] = n
	}
	return true
}

// isPyenvShim reports whether path is one of pyenv's shims: a bash script
// that runs `pyenv exec`, which picks a version (from PYENV_VERSION or
// .python-version files) and sets PATH and PYENV_VERSION before exec'ing
// the real interpreter. Resolving that takes pyenv from a few hundred
// milliseconds to over a second of bash on every start; the probe runs
// through the shim anyway, so the program can be started the way the shim
// would start it without paying it twice, and what the probe learned is
// kept for the next run in the same circumstances (see probeShim). Other
// wrappers are always run as they are: they may do more than set
// the environment.
func isPyenvShim(path string) bool {
	real, err := exec.LookPath(path)
	if err != nil {
		return false
	}
	f, err := os.Open(real)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 1024)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	return bytes.HasPrefix(head, []byte("#!")) && bytes.Contains(head, []byte(`exec "$program"`)) &&
		bytes.Contains(head, []byte("pyenv"))
}

// candidates lists the interpreters Discover tries, newest minor version
// first: python3.N on PATH, then pyenv's installed versions.
func candidates() []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	pyenv := pyenvVersions()
	for minor := 30; minor >= 12; minor-- {
		name := "python3." + strconv.Itoa(minor)
		if p, err := exec.LookPath(name); err == nil {
			add(p)
		}
		for _, dir := range pyenv[minor] {
			add(filepath.Join(dir, "bin", name))
		}
	}
	return out
}

// pyenvVersions maps a minor version to pyenv's installs of it, newest
// patch release first.
func pyenvVersions() map[int][]string {
	dirs, _ := filepath.Glob(filepath.Join(pyenvRoot(), "versions", "3.*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	out := map[int][]string{}
	for _, d := range dirs {
		parts := strings.SplitN(filepath.Base(d), ".", 3)
		if len(parts) < 2 {
			continue
		}
		if minor, err := strconv.Atoi(parts[1]); err == nil {
			out[minor] = append(out[minor], d)
		}
	}
	return out
}

func pyenvRoot() string {
	if root := os.Getenv("PYENV_ROOT"); root != "" {
		return root
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".pyenv")
}

// Find probes the interpreter called name: name itself when it is a path,
// else name on PATH, then in each of pyenv's versions, newest first.
func Find(name string) (*Interpreter, error) {
	var tried []string
	if strings.ContainsRune(name, filepath.Separator) {
		tried = []string{name}
	} else {
		if p, err := exec.LookPath(name); err == nil {
			tried = append(tried, p)
		}
		found, _ := filepath.Glob(filepath.Join(pyenvRoot(), "versions", "*", "bin", name))
		sort.Sort(sort.Reverse(sort.StringSlice(found)))
		tried = append(tried, found...)
	}
	for _, path := range tried {
		if i, err := Probe(path); err == nil {
			return i, nil
		}
	}
	return nil, fmt.Errorf("%s: %w (looked on PATH and in pyenv's versions)", name, ErrNotPython)
}

// ErrNoPython is returned by Discover when no usable interpreter exists.
var ErrNoPython = errors.New("no Python 3.12 or newer found (tried python3.N on PATH and pyenv's versions); install one or pass --python PATH")

// PythonEnv names the interpreter Discover returns before any other:
// `python -m pyprof` sets it to the Python that runs it, so that a virtual
// environment's Python records the program even where that environment is
// not on PATH.
const PythonEnv = "PYPROF_PYTHON"

// Discover returns the interpreter to run a program with when the command
// names none, as typing `python app.py` would: the one $PYPROF_PYTHON
// names; else `python3` or `python` on PATH when it is CPython 3.12+ (an
// active virtual environment's); else the newest working CPython 3.12+ it
// can find.
func Discover() (*Interpreter, error) {
	if named := os.Getenv(PythonEnv); named != "" {
		i, err := Probe(named)
		if err != nil || !i.Supported() {
			return nil, fmt.Errorf("$%s=%s is not a CPython 3.12 or newer: unset it or pass --python PATH", PythonEnv, named)
		}
		return i, nil
	}
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			if i, err := Probe(p); err == nil && i.Supported() {
				return i, nil
			}
		}
	}
	for _, c := range candidates() {
		if i, err := Probe(c); err == nil && i.Supported() {
			return i, nil
		}
	}
	return nil, ErrNoPython
}

// All returns every working CPython 3.12+ Discover would consider, one per
// minor version: tests run under each.
func All() []*Interpreter {
	var out []*Interpreter
	seen := map[int]bool{}
	for _, c := range candidates() {
		i, err := Probe(c)
		if err != nil || !i.Supported() || seen[i.Version[1]] {
			continue
		}
		seen[i.Version[1]] = true
		out = append(out, i)
	}
	return out
}

// probeKey identifies an executable file by what changes when it is
// replaced. Scripts (pyenv shims, wrappers) get no key: what they run
// depends on the environment and the working folder.
func probeKey(path string) string {
	real, err := exec.LookPath(path)
	if err != nil {
		return ""
	}
	if real, err = filepath.EvalSymlinks(real); err != nil {
		return ""
	}
	f, err := os.Open(real)
	if err != nil {
		return ""
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := f.Read(magic); err != nil || string(magic) != "\x7fELF" {
		return ""
	}
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s|%d|%d|%d|%d", real, info.Size(), info.ModTime().UnixNano(), st.Ino, st.Dev)
}

func probeCachePath(key string) string {
	dir, err := CacheDir()
	if err != nil || key == "" {
		return ""
	}
	return filepath.Join(dir, "probe-"+hashOf([]byte(key))[:20]+".json")
}

func loadProbe(key string) *Interpreter {
	path := probeCachePath(key)
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var i Interpreter
	if json.Unmarshal(data, &i) != nil || i.Version[0] == 0 {
		return nil
	}
	return &i
}

func storeProbe(key string, i *Interpreter) {
	if path := probeCachePath(key); path != "" {
		if data, err := json.Marshal(i); err == nil {
			_ = writeAtomic(path, data, 0o600) // a cache: failing to write costs only time
		}
	}
}

// ForgetProbe drops what the cache says of path: the interpreter turned out
// to be another than probed (a wrapper whose target depends on the
// environment), so the next run probes it afresh.
func ForgetProbe(path string) {
	if p := probeCachePath(probeKey(path)); p != "" {
		os.Remove(p)
	}
	if isPyenvShim(path) {
		forgetShim(path)
	}
}
