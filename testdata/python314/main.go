// Command python314 provides pyprof's tests with a real CPython 3.14: it
// extracts the python-build-standalone build that go-embed-python embeds
// into a cache folder and prints the path of its bin/python3.14.
//
//	go run . CACHE
//
// The interpreter goes to CACHE/go-embed-python-VERSION, named for the
// module version that embeds it, so that a newer build never mixes with an
// older one. This is a module of its own so that the ~150 MB interpreter is
// downloaded only by those who run it, never by users of pyprof's module.
// The standard library comes without bytecode, so it is compiled once
// after the extraction: without it every start of 3.14 compiles what it
// imports (multiprocessing's spawn took 0.5-0.8 s instead of 0.15 s) when
// PYTHONDONTWRITEBYTECODE is set, as it is here. A second run prints the
// path at once: the extraction writes a marker file last, and a folder
// with the marker is complete.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"

	"github.com/kluctl/go-embed-python/python"
)

const (
	embedModule = "github.com/kluctl/go-embed-python"
	// markerName is written into the folder once everything else is: an
	// extraction cut short (a killed test) leaves no marker and is redone.
	markerName = ".pyprof-complete"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run . CACHE (the folder to extract CPython 3.14 under)")
		os.Exit(2)
	}
	exe, err := ensure(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "python314: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(exe)
}

// ensure extracts the interpreter under cache unless a complete extraction
// is there already, and returns the path of its bin/python3.14.
func ensure(cache string) (string, error) {
	cache, err := filepath.Abs(cache)
	if err != nil {
		return "", fmt.Errorf("cache folder: %w", err)
	}
	dir := filepath.Join(cache, "go-embed-python-"+embedVersion())
	exe := filepath.Join(dir, "bin", "python3.14")
	marker := filepath.Join(dir, markerName)
	if _, err := os.Stat(marker); err == nil {
		return exe, nil
	}
	// The module serialises concurrent extractions into one folder with
	// a lock file, and skips files already there at their full size.
	if _, err := python.NewEmbeddedPythonWithTmpDir(dir, false); err != nil {
		return "", fmt.Errorf("extracting into %s: %w", dir, err)
	}
	if _, err := os.Stat(exe); err != nil {
		return "", fmt.Errorf("extracted into %s, but: %w", dir, err)
	}
	if err := compileStdlib(exe, dir); err != nil {
		return "", err
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return "", fmt.Errorf("marking %s complete: %w", dir, err)
	}
	return exe, nil
}

// compileStdlib writes the bytecode of the standard library under dir.
func compileStdlib(exe, dir string) error {
	lib := filepath.Join(dir, "lib", "python3.14")
	cmd := exec.Command(exe, "-m", "compileall", "-q", "-j", "0", lib)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compiling the standard library in %s: %w: %s", lib, err, out)
	}
	return nil
}

// embedVersion returns the version of go-embed-python built in, which
// names the interpreter it embeds (v0.0.0-3.14.6-20260610-1: CPython
// 3.14.6 of python-build-standalone's 20260610 release).
func embedVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == embedModule {
				return dep.Version
			}
		}
	}
	return "unknown"
}
