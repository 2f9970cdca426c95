package agent_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/profiler/agent"
)

// fakePyenv lays out a pyenv root whose shim python3.N runs real the way
// pyenv does: its libexec/pyenv exports PYENV_VERSION and puts the
// version's bin folder first on PATH, and counts its runs in a file.
func fakePyenv(t *testing.T, real *agent.Interpreter) (shim, runs string) {
	t.Helper()
	root := t.TempDir()
	runs = filepath.Join(root, "runs")
	name := filepath.Base(real.Executable)
	shim = filepath.Join(root, "shims", name)
	files := map[string]string{
		shim: "#!/usr/bin/env bash\nset -e\nprogram=\"${0##*/}\"\nexport PYENV_ROOT=\"" + root + "\"\n" +
			"exec \"" + root + "/libexec/pyenv\" exec \"$program\" \"$@\"\n",
		filepath.Join(root, "libexec", "pyenv"): "#!/bin/sh\necho run >> '" + runs + "'\nshift 2\n" +
			"export PYENV_VERSION=fake-" + real.VersionString() + "\n" +
			"export PATH='" + filepath.Dir(real.Executable) + "':\"$PATH\"\n" +
			"exec '" + real.Executable + "' \"$@\"\n",
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
	i, err := agent.Probe(shim)
	if err != nil {
		t.Fatal(err)
	}
	if i.Path != shim || i.RunPath() != real.Executable {
		t.Fatalf("path %s runs %s; want %s run by %s", i.Path, i.RunPath(), shim, real.Executable)
	}
	env := i.Environ()
	if !slices.Contains(env, "PYENV_VERSION=fake-"+real.VersionString()) ||
		!slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PATH="+filepath.Dir(real.Executable)+":") }) {
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
