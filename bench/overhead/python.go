package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// python is one interpreter to measure with.
type python struct {
	name    string // as given to --python
	path    string // its sys.executable: runs never go through a shim
	version string // "3.12.1"
	major   int
	minor   int
}

// supported reports whether pyprof can record it: 3.12 has sys.monitoring.
func (p *python) supported() bool { return p.major > 3 || p.major == 3 && p.minor >= 12 }

// errNoPython says that an interpreter named by --python cannot run.
var errNoPython = errors.New("no such interpreter")

// resolvePythons finds every interpreter of --python.
func resolvePythons(names []string) ([]*python, error) {
	var out []*python
	for _, name := range names {
		py, err := resolvePython(name)
		if err != nil {
			return nil, err
		}
		if !py.supported() {
			return nil, fmt.Errorf("%w: %s is Python %s; pyprof needs 3.12 or newer", errUsage, name, py.version)
		}
		out = append(out, py)
	}
	return out, nil
}

// resolvePython probes name on PATH, then among pyenv's versions: a pyenv
// shim can exist on PATH and still refuse to run.
func resolvePython(name string) (*python, error) {
	for _, path := range pythonCandidates(name) {
		if py, err := probePython(path); err == nil {
			py.name = name
			return py, nil
		}
	}
	return nil, fmt.Errorf("%w: %s: not found or not working (looked on PATH and in pyenv's versions)", errNoPython, name)
}

func pythonCandidates(name string) []string {
	if strings.ContainsRune(name, filepath.Separator) {
		return []string{name}
	}
	var out []string
	if p, err := exec.LookPath(name); err == nil {
		out = append(out, p)
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".pyenv")
	}
	found, _ := filepath.Glob(filepath.Join(root, "versions", "*", "bin", name))
	// Newest patch release first; a lexical sort is close enough for the
	// one or two versions a machine has of each minor.
	sort.Sort(sort.Reverse(sort.StringSlice(found)))
	return append(out, found...)
}

const probeScript = `import json, sys
print(json.dumps({"executable": sys.executable, "version": list(sys.version_info[:3])}))`

func probePython(path string) (*python, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-I", "-c", probeScript).Output()
	if err != nil {
		return nil, err
	}
	var facts struct {
		Executable string `json:"executable"`
		Version    []int  `json:"version"`
	}
	if err := json.Unmarshal(out, &facts); err != nil || len(facts.Version) != 3 || facts.Executable == "" {
		return nil, fmt.Errorf("%s: unexpected probe output %q", path, out)
	}
	v := facts.Version
	return &python{
		path:    facts.Executable,
		version: fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]),
		major:   v[0],
		minor:   v[1],
	}, nil
}
