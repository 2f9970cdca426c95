package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// A pyenv shim picks its interpreter by running pyenv, a tree of bash
// scripts that takes from a few hundred milliseconds to over a second on
// every start. What it picks, and the environment it gives the
// interpreter, follow from what pyenv reads: the environment it runs in,
// the working folder's .python-version (or its parents'), the global
// version file, the versions installed, and the shim itself. A probe
// through a shim is kept under a key made of all of those; the next run
// whose key is the same starts the interpreter the shim chose, in the
// environment it gave, without running the shim again. Anything else (a
// `pyenv local`, `pyenv shell`, an install, another folder, another
// environment) makes another key, and the shim runs as before.
//
// Only what the shim changed in the environment is kept (pyenv's PATH and
// PYENV_* variables), never the whole of it, which may hold secrets: the
// key holds a hash of the environment instead.

// shimChoice is what the cache keeps of a probe through a shim.
type shimChoice struct {
	Interpreter Interpreter
	// Launch is the interpreter the shim ran, and LaunchKey its probeKey
	// then: one replaced since is probed afresh.
	Launch, LaunchKey string
	// Set and Unset are what the shim changed in the environment it ran in.
	Set   []string
	Unset []string
}

// probeShim is Probe for a pyenv shim.
func probeShim(path string) (*Interpreter, error) {
	key := shimKey(path)
	if i := loadShim(path, key); i != nil {
		return i, nil
	}
	i, err := probe(path)
	if err == nil && i.Launch != nil && key != "" {
		storeShim(key, i)
	}
	return i, err
}

// shimKey hashes what a shim's choice depends on (see above); "" when
// some of it cannot be read.
func shimKey(path string) string {
	shim, ok := fileStamp(path)
	if !ok {
		return ""
	}
	cwd, err := os.Getwd()
	if err != nil {
		return ""
	}
	// A shim lives in $PYENV_ROOT/shims.
	real, _ := filepath.EvalSymlinks(path)
	root := filepath.Dir(filepath.Dir(real))
	env := os.Environ()
	sort.Strings(env)
	versions, _ := fileStamp(filepath.Join(root, "versions"))
	pyenv, _ := fileStamp(filepath.Join(root, "libexec", "pyenv"))
	global, _ := os.ReadFile(filepath.Join(root, "version"))
	local, localPath := localVersionFile(cwd)
	return hashOf([]byte(probeScript), []byte(shim), []byte(cwd), []byte(strings.Join(env, "\x00")),
		[]byte(versions), []byte(pyenv), global, []byte(localPath), local)
}

// localVersionFile returns the .python-version pyenv would read from the
// working folder dir (the nearest in dir or above it) and its path.
func localVersionFile(dir string) ([]byte, string) {
	for {
		path := filepath.Join(dir, ".python-version")
		if b, err := os.ReadFile(path); err == nil {
			return b, path
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, ""
		}
		dir = parent
	}
}

// fileStamp identifies a file or folder by what changes when it is
// replaced or, for a folder, when an entry is added or removed.
func fileStamp(path string) (string, bool) {
	info, err := os.Stat(path)
	if err != nil {
		return "", false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%s|%d|%d|%d|%d", path, info.Size(), info.ModTime().UnixNano(), st.Ino, st.Dev), true
}

func shimCachePath(key string) string {
	dir, err := CacheDir()
	if err != nil || key == "" {
		return ""
	}
	return filepath.Join(dir, "shim-"+key[:20]+".json")
}

// loadShim returns the cached choice of the shim at path under key, nil
// when there is none or the interpreter it ran has changed since.
func loadShim(path, key string) *Interpreter {
	file := shimCachePath(key)
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var c shimChoice
	if json.Unmarshal(data, &c) != nil || c.Interpreter.Version[0] == 0 || !filepath.IsAbs(c.Launch) ||
		c.LaunchKey == "" || probeKey(c.Launch) != c.LaunchKey {
		return nil
	}
	now := time.Now()
	_ = os.Chtimes(file, now, now) // used: the last that pruneShims removes
	i := c.Interpreter
	i.Path = path
	i.Launch = &Launch{Path: c.Launch, Env: applyEnv(os.Environ(), c.Set, c.Unset)}
	return &i
}

// storeShim keeps what probing the shim found under key. A choice of an
// interpreter outside pyenv's versions is not kept: pyenv's "system"
// version is the first python on PATH past the shims, and a new one in a
// folder on PATH (make altinstall) changes it with nothing in the key.
func storeShim(key string, i *Interpreter) {
	file := shimCachePath(key)
	launchKey := probeKey(i.Launch.Path)
	if file == "" || launchKey == "" {
		return // a shim that ran a script: nothing that can be checked later
	}
	real, _ := filepath.EvalSymlinks(i.Path)
	real, _ = filepath.Abs(real) // the shim may be named by a relative path
	versions := filepath.Join(filepath.Dir(filepath.Dir(real)), "versions") + string(filepath.Separator)
	launch, _ := filepath.EvalSymlinks(filepath.Dir(i.Launch.Path))
	if !strings.HasPrefix(i.Launch.Path, versions) && !strings.HasPrefix(launch+string(filepath.Separator), versions) {
		return
	}
	set, unset := envChanges(os.Environ(), i.Launch.Env)
	c := shimChoice{Interpreter: *i, Launch: i.Launch.Path, LaunchKey: launchKey, Set: set, Unset: unset}
	if data, err := json.Marshal(c); err == nil {
		_ = writeAtomic(file, data, 0o600) // a cache: failing to write costs only time
	}
	pruneShims(filepath.Dir(file))
}

// maxShimChoices bounds the choices kept: each environment pyprof ran in
// makes its own (a terminal's session variables differ from the next
// one's), and the cache must not grow without end.
const maxShimChoices = 64

// pruneShims removes the least recently used choices past maxShimChoices.
func pruneShims(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "shim-*.json"))
	if len(files) <= maxShimChoices {
		return
	}
	written := make(map[string]int64, len(files))
	for _, f := range files {
		if info, err := os.Stat(f); err == nil {
			written[f] = info.ModTime().UnixNano()
		}
	}
	sort.Slice(files, func(a, b int) bool { return written[files[a]] < written[files[b]] })
	for _, f := range files[:len(files)-maxShimChoices] {
		os.Remove(f)
	}
}

// envChanges returns what turns the environment from into to: the
// variables to set (NAME=VALUE) and the names to remove.
func envChanges(from, to []string) (set, unset []string) {
	before := envMap(from)
	after := envMap(to)
	for name, value := range after {
		if old, ok := before[name]; !ok || old != value {
			set = append(set, name+"="+value)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			unset = append(unset, name)
		}
	}
	sort.Strings(set)
	sort.Strings(unset)
	return set, unset
}

// applyEnv makes env changed as envChanges said.
func applyEnv(env, set, unset []string) []string {
	m := envMap(env)
	for _, name := range unset {
		delete(m, name)
	}
	for _, kv := range set {
		name, value, _ := strings.Cut(kv, "=")
		m[name] = value
	}
	out := make([]string, 0, len(m))
	for name, value := range m {
		out = append(out, name+"="+value)
	}
	sort.Strings(out)
	return slices.Clip(out)
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if name, value, ok := strings.Cut(kv, "="); ok {
			m[name] = value
		}
	}
	return m
}

// forgetShim drops the cached choice of the shim at path.
func forgetShim(path string) {
	if p := shimCachePath(shimKey(path)); p != "" {
		os.Remove(p)
	}
}
