package agent

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	t.Setenv("LD_LIBRARY_PATH", "")
	os.Unsetenv("LD_LIBRARY_PATH") // set, it makes Identify probe
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

// sharedPython returns the launcher and libpython of a Python found whose
// executable links libpython from $ORIGIN/../lib (pyenv's builds), or
// skips.
func sharedPython(t *testing.T) (exe, lib string) {
	t.Helper()
	for _, i := range All() {
		f, err := elf.Open(i.Executable)
		if err != nil {
			continue
		}
		libs, _ := f.ImportedLibraries()
		f.Close()
		for _, l := range libs {
			p := filepath.Join(filepath.Dir(i.Executable), "..", "lib", l)
			if strings.HasPrefix(l, "libpython3") && fileExists(p) {
				return i.Executable, p
			}
		}
	}
	t.Skip("no Python found that links libpython from ../lib")
	return "", ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// copyPython copies exe and lib into a fresh bin/ and lib/ pair, with
// edits applied to each copy's bytes, and returns the copied executable.
func copyPython(t *testing.T, exe, lib string, editExe, editLib func([]byte)) string {
	t.Helper()
	root := t.TempDir()
	for _, c := range []struct {
		from, dir string
		edit      func([]byte)
	}{{exe, "bin", editExe}, {lib, "lib", editLib}} {
		data, err := os.ReadFile(c.from)
		if err != nil {
			t.Fatal(err)
		}
		if c.edit != nil {
			c.edit(data)
		}
		if err := os.MkdirAll(filepath.Join(root, c.dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, c.dir, filepath.Base(c.from)), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, "bin", filepath.Base(exe))
}

// sectionFlagsAt returns the file offsets of every section header's
// sh_flags word in an ELF64 image.
func sectionFlagsAt(data []byte) []int {
	shoff := int(binary.LittleEndian.Uint64(data[0x28:]))
	size := int(binary.LittleEndian.Uint16(data[0x3a:]))
	n := int(binary.LittleEndian.Uint16(data[0x3c:]))
	var out []int
	for k := 0; k < n; k++ {
		out = append(out, shoff+k*size+8)
	}
	return out
}

// TestFactsFromFileHostile: a file that is not what it seems makes
// factsFromFile say nothing (so that the probe runs), never panic or
// name a wrong interpreter.
func TestFactsFromFileHostile(t *testing.T) {
	exe, lib := sharedPython(t)
	t.Setenv("LD_LIBRARY_PATH", "")
	os.Unsetenv("LD_LIBRARY_PATH")
	want, err := factsFromFile(copyPython(t, exe, lib, nil, nil))
	if err != nil {
		t.Fatalf("an unchanged copy: %v", err)
	}
	if want.Version[0] != 3 {
		t.Fatalf("an unchanged copy reads as %s", want.VersionString())
	}
	replace := func(old, new string) func([]byte) {
		return func(b []byte) {
			for at := bytes.Index(b, []byte(old)); at >= 0; at = bytes.Index(b, []byte(old)) {
				copy(b[at:], new)
			}
		}
	}
	for _, tc := range []struct {
		name             string
		editExe, editLib func([]byte)
		env              string
	}{
		{name: "a program embedding libpython", editExe: replace("Py_BytesMain\x00", "Py_BytesMaiX\x00")},
		{name: "LD_LIBRARY_PATH steers the loader", env: "/nonexistent;" + filepath.Dir(lib)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("LD_LIBRARY_PATH", tc.env)
			}
			path := copyPython(t, exe, lib, tc.editExe, tc.editLib)
			if i, err := factsFromFile(path); !errors.Is(err, errNoFacts) {
				t.Errorf("got %+v, %v; want errNoFacts", i, err)
			}
		})
	}
	// The launcher finds its libpython by an absolute RUNPATH, so the
	// compressed copy is read directly: debug/elf gives such a section
	// no reader, and reading it panicked.
	t.Run("sections marked compressed", func(t *testing.T) {
		data, err := os.ReadFile(lib)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		sym, err := findSymbol(plain, "Py_Version")
		if err != nil {
			t.Fatal(err)
		}
		// Only the section holding the constant: the loader ignores the
		// flag, and debug/elf still opens the file.
		at := sectionFlagsAt(data)[sym.Section]
		binary.LittleEndian.PutUint64(data[at:], binary.LittleEndian.Uint64(data[at:])|uint64(elf.SHF_COMPRESSED))
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := readSymbol(f, "Py_Version", 4); !errors.Is(err, errNoFacts) {
			t.Errorf("got %x, %v; want errNoFacts", b, err)
		}
	})
}

// TestProbeEndsWithItsTimeout: a wrapper that hangs, or leaves a job
// behind holding its output, does not hold pyprof past the probe's
// timeout; the one whose interpreter answered is still a Python.
func TestProbeEndsWithItsTimeout(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Skip("no Python 3.12+ found")
	}
	defer func(d time.Duration) { probeTimeout = d }(probeTimeout)
	probeTimeout = time.Second
	dir := t.TempDir()
	for _, tc := range []struct {
		name, script string
		python       bool
	}{
		{"hangs", "sleep 30", false},
		{"leaves a job behind", "(sleep 30 &)\nexec " + all[0].Executable + ` "$@"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := probe(path)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the probe took %s", took)
			}
			if (err == nil) != tc.python {
				t.Errorf("probe: %v, want a Python: %v", err, tc.python)
			}
		})
	}
}

// TestCachedProbeNamesThePathRun: a link to an interpreter (a venv's
// python) shares the cache entry of the file it links to, and is still
// named by its own path, as Python names itself (sys.executable).
func TestCachedProbeNamesThePathRun(t *testing.T) {
	all := All()
	if len(all) == 0 {
		t.Skip("no Python 3.12+ found")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if _, err := Probe(all[0].Executable); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "python")
	if err := os.Symlink(all[0].Executable, link); err != nil {
		t.Fatal(err)
	}
	for name, find := range map[string]func(string) (*Interpreter, error){"Probe": Probe, "Identify": Identify} {
		i, err := find(link)
		if err != nil {
			t.Fatal(err)
		}
		if i.Executable != link {
			t.Errorf("%s(%s).Executable = %s", name, link, i.Executable)
		}
	}
}
