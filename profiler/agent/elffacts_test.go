package agent

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestFactsFromFileMatchProbe: what an interpreter's file says of it is
// what the interpreter says of itself, on every Python found (an older
// one too, which pyprof must still be able to name and refuse).
func TestFactsFromFileMatchProbe(t *testing.T) {
	paths := []string{}
	for _, i := range All() {
		paths = append(paths, i.Executable)
	}
	if p, err := exec.LookPath("python3"); err == nil {
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		t.Skip("no Python found")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ran, err := probe(path)
			if err != nil {
				t.Skipf("%s does not run: %v", path, err)
			}
			// A pyenv shim is a script: read the interpreter it ran.
			read, err := factsFromFile(ran.Executable)
			if err != nil {
				t.Fatalf("factsFromFile(%s): %v", ran.Executable, err)
			}
			if read.Version != ran.Version || read.FreeThreaded != ran.FreeThreaded ||
				read.HasMonitoring != ran.HasMonitoring || read.Implementation != ran.Implementation {
				t.Errorf("file says %+v, the interpreter says %+v", read, ran)
			}
		})
	}
}

// TestFactsFromFileRefusesOthers: a script or an executable that is not
// CPython says nothing, so that the probe runs.
func TestFactsFromFileRefusesOthers(t *testing.T) {
	script := filepath.Join(t.TempDir(), "python3.12")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexec python3.12 \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"a script": script, "a Go program": self} {
		if i, err := factsFromFile(path); !errors.Is(err, errNoFacts) {
			t.Errorf("%s: got %+v, %v; want errNoFacts", name, i, err)
		}
	}
}

// TestIdentifyStartsNoInterpreter: naming an interpreter costs no
// interpreter start on a first use (an empty cache), where a wrapper
// script, which the file cannot vouch for, is still probed.
func TestIdentifyStartsNoInterpreter(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Skip("no Python 3.12+ found")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	before := probeRuns.Load()
	i, err := Identify(all[0].Executable)
	if err != nil {
		t.Fatal(err)
	}
	if n := probeRuns.Load() - before; n != 0 {
		t.Errorf("Identify(%s) started %d interpreters", all[0].Executable, n)
	}
	if i.Version != all[0].Version {
		t.Errorf("Identify says %s, the probe said %s", i.VersionString(), all[0].VersionString())
	}
	wrapper := filepath.Join(t.TempDir(), "py")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+all[0].Executable+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	before = probeRuns.Load()
	if _, err := Identify(wrapper); err != nil {
		t.Fatal(err)
	}
	if n := probeRuns.Load() - before; n != 1 {
		t.Errorf("Identify(a wrapper script) started %d interpreters, want 1 (the probe)", n)
	}
}
