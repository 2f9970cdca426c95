// Package testpython makes a real CPython 3.14 available to pyprof's tests.
//
// A python3.14 already on PATH or among pyenv's versions is used as it is.
// Otherwise Provide314 runs the small module in testdata/python314 (go run
// ., once per test process), which extracts the python-build-standalone
// build that github.com/kluctl/go-embed-python embeds into a cache folder
// shared by every package and run, and puts a folder holding only a
// python3.14 link to it first on PATH. pyprof's own interpreter discovery
// (python3.N on PATH) and the sampler's tests then find it. Only that link
// goes on PATH: the extracted bin folder also holds python3 and python,
// which would shadow the machine's own.
//
// That module is separate from pyprof's so that users of pyprof's module
// never download the ~150 MB interpreter. The first extraction builds the
// program and writes ~150 MB; later runs cost the start of `go run`.
package testpython

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Minor is the minor version this package provides.
const Minor = 14

var (
	once   sync.Once
	exe    string
	reason error
)

// Provide314 returns the path of a python3.14 that tests can run, making
// one available on PATH first if there is none; it does the work once per
// process. The error says why there is none (no Go, no network, no module
// cache): tests of 3.14 skip with it.
func Provide314() (string, error) {
	once.Do(func() { exe, reason = provide() })
	return exe, reason
}

func provide() (string, error) {
	if p := installed(); p != "" {
		return p, nil
	}
	extracted, err := extract()
	if err != nil {
		return "", fmt.Errorf("python3.14 is not installed and extracting one failed: %w", err)
	}
	link, err := linkOnPath(extracted)
	if err != nil {
		return "", fmt.Errorf("python3.14 extracted to %s, but: %w", extracted, err)
	}
	return link, nil
}

// installed returns a working python3.14 on PATH or among pyenv's
// versions, or "". A pyenv shim on PATH that pyenv has not selected fails
// to run and does not count.
func installed() string {
	if p, err := exec.LookPath("python3.14"); err == nil && runs(p) {
		return p
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".pyenv")
	}
	found, _ := filepath.Glob(filepath.Join(root, "versions", "3.14*", "bin", "python3.14"))
	for _, p := range found {
		if runs(p) {
			return p
		}
	}
	return ""
}

// runs reports whether the interpreter at path starts.
func runs(path string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, "-c", "pass").Run() == nil
}

// extractTimeout bounds the first run, which may download the ~154 MB
// module and writes ~150 MB.
const extractTimeout = 10 * time.Minute

// extract runs testdata/python314 and returns the interpreter it printed.
func extract() (string, error) {
	cacheRoot, err := cacheDir()
	if err != nil {
		return "", err
	}
	src, err := programDir()
	if err != nil {
		return "", err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is needed to extract it: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), extractTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "run", ".", cacheRoot)
	cmd.Dir = src
	// The program's module resolves its own dependencies, outside any
	// workspace the tests may run in.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go run . in %s: %w: %s", src, err, lastLine(stderr.String()))
	}
	path := lastLine(stdout.String())
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("go run . in %s printed %q, not the interpreter's path", src, path)
	}
	return path, nil
}

// cacheDir is where the interpreter is kept across runs and packages.
func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for the interpreter: %w", err)
	}
	return filepath.Join(base, "pyprof-test"), nil
}

// programDir finds testdata/python314 from the working folder of a test,
// which is its package's folder somewhere in the repository.
func programDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "testdata", "python314")
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testdata/python314 not found above the working folder")
		}
		dir = parent
	}
}

// linkOnPath links python3.14 to target in a folder of its own, put first
// on PATH, and returns the link.
func linkOnPath(target string) (string, error) {
	dir := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(target))), "path")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	link := filepath.Join(dir, "python3.14")
	if cur, err := os.Readlink(link); err != nil || cur != target {
		// A link made aside and renamed over the old one: other test
		// processes may be reading it.
		tmp := fmt.Sprintf("%s.%d", link, os.Getpid())
		os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, link); err != nil {
			os.Remove(tmp)
			return "", err
		}
	}
	if err := os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return "", err
	}
	return link, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
