package agent_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/profiler/agent"
)

// fakePyenv lays out a pyenv root whose shim python3.N runs real the way
// pyenv does: its libexec/pyenv exports PYENV_VERSION and puts the
// version's bin folder first on PATH, and counts its runs in a file. The
// version is one of the root's versions, where a link leads to real; see
// fakeSystemPyenv for pyenv's "system".
func fakePyenv(t *testing.T, real *agent.Interpreter) (shim, runs string) {
	t.Helper()
	return layOutPyenv(t, real, false)
}

// fakeSystemPyenv is fakePyenv whose version is "system": the shim runs
// real where it is, outside pyenv's versions.
func fakeSystemPyenv(t *testing.T, real *agent.Interpreter) (shim, runs string) {
	t.Helper()
	return layOutPyenv(t, real, true)
}

// versionBin is where fakePyenv's version keeps its interpreter.
func versionBin(shim string, real *agent.Interpreter) string {
	return filepath.Join(filepath.Dir(filepath.Dir(shim)), "versions", "fake-"+real.VersionString(), "bin")
}

func layOutPyenv(t *testing.T, real *agent.Interpreter, system bool) (shim, runs string) {
	t.Helper()
	root := t.TempDir()
	runs = filepath.Join(root, "runs")
	name := filepath.Base(real.Executable)
	shim = filepath.Join(root, "shims", name)
	bin := versionBin(shim, real)
	if system {
		bin = filepath.Dir(real.Executable)
	} else {
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(real.Executable, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		shim: "#!/usr/bin/env bash\nset -e\nprogram=\"${0##*/}\"\nexport PYENV_ROOT=\"" + root + "\"\n" +
			"exec \"" + root + "/libexec/pyenv\" exec \"$program\" \"$@\"\n",
		filepath.Join(root, "libexec", "pyenv"): "#!/bin/sh\necho run >> '" + runs + "'\nshift 2\n" +
			"export PYENV_VERSION=fake-" + real.VersionString() + "\n" +
			"export PATH='" + bin + "':\"$PATH\"\n" +
			"exec '" + filepath.Join(bin, name) + "' \"$@\"\n",
	}
	for path, text := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return shim, runs
}

// TestPyenvShimRunsOnce: a program named through a pyenv shim starts as
// the shim would start it (the interpreter it picks, the environment it
// sets), without resolving the shim a second time after the probe.
func TestPyenvShimRunsOnce(t *testing.T) {
	real := allInterpreters(t)[0]
	shim, runs := fakePyenv(t, real)
	t.Setenv("PYENV_VERSION", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	i, err := agent.Probe(shim)
	if err != nil {
		t.Fatal(err)
	}
	bin := versionBin(shim, real)
	if want := filepath.Join(bin, filepath.Base(real.Executable)); i.Path != shim || i.RunPath() != want {
		t.Fatalf("path %s runs %s; want %s run by %s", i.Path, i.RunPath(), shim, want)
	}
	env := i.Environ()
	if !slices.Contains(env, "PYENV_VERSION=fake-"+real.VersionString()) ||
		!slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PATH="+bin+":") }) {
		t.Errorf("the program's environment lacks what the shim sets: %v", env)
	}
	cmd := exec.Command(i.RunPath(), "-c", "import os; print(os.environ['PYENV_VERSION'])")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "fake-"+real.VersionString() {
		t.Errorf("program saw PYENV_VERSION %q (%v)", out, err)
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 1 {
		t.Errorf("the shim ran %d times; want once, for the probe", strings.Count(string(b), "run"))
	}
}

// TestWrapperRunsAsGiven: a script that is not a pyenv shim may do more
// than set the environment, so it runs the program itself.
func TestWrapperRunsAsGiven(t *testing.T) {
	real := allInterpreters(t)[0]
	wrapper := filepath.Join(t.TempDir(), "python-wrapper")
	script := "#!/bin/sh\nexport WRAPPED=1\nexec '" + real.Executable + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	i, err := agent.Probe(wrapper)
	if err != nil {
		t.Fatal(err)
	}
	if i.RunPath() != wrapper || i.Launch != nil {
		t.Errorf("wrapper runs through %s (launch %+v); want the wrapper itself", i.RunPath(), i.Launch)
	}
}

// TestPyenvShimChoiceKept: once a shim's choice is known, the next run in
// the same circumstances starts that interpreter, in the environment the
// shim gave it, without running the shim; anything pyenv reads that
// changes makes the shim run again. The cache keeps no secret of the
// environment it ran in.
func TestPyenvShimChoiceKept(t *testing.T) {
	real := allInterpreters(t)[0]
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("PYENV_VERSION", "")
	t.Setenv("SOME_TOKEN", "do-not-keep-me")
	t.Chdir(t.TempDir())
	shim, runs := fakePyenv(t, real)
	ranTimes := func() int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), "run")
	}
	probeTwice := func(t *testing.T, wantRuns int) {
		t.Helper()
		first, err := agent.Probe(shim)
		if err != nil {
			t.Fatal(err)
		}
		again, err := agent.Probe(shim)
		if err != nil {
			t.Fatal(err)
		}
		if n := ranTimes(); n != wantRuns {
			t.Fatalf("the shim ran %d times in all; want %d", n, wantRuns)
		}
		if again.Path != shim || again.RunPath() != first.RunPath() || again.Version != first.Version ||
			!slices.Equal(again.Environ(), first.Environ()) {
			t.Errorf("from the cache: %s runs %s %v; the probe said %s runs %s %v",
				again.Path, again.RunPath(), again.Version, first.Path, first.RunPath(), first.Version)
		}
	}
	probeTwice(t, 1)
	root := filepath.Dir(filepath.Dir(shim))
	changes := []struct {
		name   string
		change func(t *testing.T)
	}{
		{"pyenv shell", func(t *testing.T) { t.Setenv("PYENV_VERSION", "3.99.0") }},
		{"pyenv local", func(t *testing.T) { writeFile(t, ".python-version", "3.99.0\n") }},
		{"pyenv global", func(t *testing.T) { writeFile(t, filepath.Join(root, "version"), "3.98.0\n") }},
		{"pyenv install", func(t *testing.T) {
			if err := os.MkdirAll(filepath.Join(root, "versions", "3.97.0"), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"another folder", func(t *testing.T) { t.Chdir(t.TempDir()) }},
	}
	for k, c := range changes {
		c.change(t)
		t.Run(c.name, func(t *testing.T) { probeTwice(t, k+2) })
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "pyprof", "shim-*.json"))
	if len(entries) == 0 {
		t.Fatal("no shim choice was kept")
	}
	for _, e := range entries {
		if b, _ := os.ReadFile(e); strings.Contains(string(b), "do-not-keep-me") {
			t.Errorf("%s holds the environment's secret", e)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPyenvShimChoicesBounded: each environment keeps a choice of its
// own; the cache keeps the newest few, not one per terminal ever opened.
func TestPyenvShimChoicesBounded(t *testing.T) {
	real := allInterpreters(t)[0]
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("PYENV_VERSION", "")
	shim, _ := fakePyenv(t, real)
	dir, err := agent.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for k := range 70 {
		stale := filepath.Join(dir, fmt.Sprintf("shim-stale%02d.json", k))
		writeFile(t, stale, "{}")
		if err := os.Chtimes(stale, old, old); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TERMINAL_SESSION", "a new one")
	if _, err := agent.Probe(shim); err != nil {
		t.Fatal(err)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "shim-*.json"))
	fresh, _ := filepath.Glob(filepath.Join(dir, "shim-[0-9a-f]*.json"))
	if len(kept) != 64 || len(fresh) != 1 {
		t.Errorf("%d choices kept, %d of them the new one; want 64 with it", len(kept), len(fresh))
	}
}

// TestPyenvSystemChoiceNotKept: pyenv's "system" version is the first
// python on PATH past the shims, which a new one in any folder on PATH
// changes with nothing pyprof keys the choice by: it is not kept, and the
// shim runs each time.
func TestPyenvSystemChoiceNotKept(t *testing.T) {
	real := allInterpreters(t)[0]
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("PYENV_VERSION", "")
	shim, runs := fakeSystemPyenv(t, real)
	for range 2 {
		if _, err := agent.Probe(shim); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "run") != 2 {
		t.Errorf("the shim ran %d times for two probes; want 2: a system choice is not kept", strings.Count(string(b), "run"))
	}
}
