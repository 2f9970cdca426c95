package agent_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/profiler/agent"
)

// prebuiltObject reads a committed agent straight from the repository.
func prebuiltObject(t *testing.T, platform string) []byte {
	t.Helper()
	so, err := os.ReadFile(filepath.Join("prebuilt", platform+".so"))
	if err != nil {
		t.Fatalf("no prebuilt agent for %s: %v", platform, err)
	}
	return so
}

// TestPrebuiltMatchesSources fails when the C agent's sources changed but
// the committed agents were not made again.
func TestPrebuiltMatchesSources(t *testing.T) {
	info, err := agent.ReadBuildInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Sources != agent.SourceHash() {
		t.Fatalf("the C agent's sources changed since the prebuilt agents were built: run `go generate ./profiler/agent` and commit profiler/agent/prebuilt")
	}
	for _, platform := range slices.Sorted(maps.Keys(agent.PrebuiltPlatforms)) {
		if got, want := agent.ObjectHash(prebuiltObject(t, platform)), info.Objects[platform]; got != want {
			t.Errorf("%s.so has sha256 %s, BUILDINFO says %s", platform, got, want)
		}
		goos, goarch, _ := strings.Cut(platform, "-")
		if _, ok := agent.Prebuilt(goos, goarch); !ok {
			t.Errorf("the %s agent is committed but not served", platform)
		}
	}
}

// TestPrebuiltRebuildsTheSame builds each platform's agent again with the
// compiler BUILDINFO names and compares the bytes: what is committed is
// what the sources make. It needs that very compiler (CI installs both).
func TestPrebuiltRebuildsTheSame(t *testing.T) {
	info, err := agent.ReadBuildInfo()
	if err != nil {
		t.Fatal(err)
	}
	for _, platform := range slices.Sorted(maps.Keys(agent.PrebuiltPlatforms)) {
		t.Run(platform, func(t *testing.T) {
			cc := agent.PrebuiltPlatforms[platform]
			out, err := exec.Command(cc, "--version").Output()
			if err != nil {
				t.Skipf("no %s here (Debian: apt-get install %s)", cc, debianPackage(cc))
			}
			ident, _, _ := strings.Cut(string(out), "\n")
			if want := info.Compilers[platform]; cc+": "+strings.TrimSpace(ident) != want {
				t.Skipf("%s is %q, the agent was built with %q: bytes may differ", cc, ident, want)
			}
			so, err := agent.Compile(cc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(so, prebuiltObject(t, platform)) {
				t.Fatalf("rebuilding with %s gives other bytes (sha256 %s) than the committed %s.so: run `go generate ./profiler/agent`", cc, agent.ObjectHash(so), platform)
			}
		})
	}
}

// debianPackage names the package that brings cc on an amd64 Debian.
func debianPackage(cc string) string {
	if cc == "x86_64-linux-gnu-gcc" {
		return "gcc"
	}
	return "gcc-" + strings.TrimSuffix(cc, "-gcc")
}

// TestAgentBuildsWithoutWarnings builds the agent with warnings as errors
// for every platform whose compiler is here.
func TestAgentBuildsWithoutWarnings(t *testing.T) {
	compilers := []string{"cc"}
	for _, platform := range slices.Sorted(maps.Keys(agent.PrebuiltPlatforms)) {
		compilers = append(compilers, agent.PrebuiltPlatforms[platform])
	}
	for _, cc := range compilers {
		t.Run(cc, func(t *testing.T) {
			if _, err := exec.LookPath(cc); err != nil {
				t.Skipf("no %s here", cc)
			}
			if _, err := agent.Compile(cc, "-Werror"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCompiledAgentFromPython runs the agent's Python suite against an
// agent compiled here, as pyprof does on platforms it carries none for.
func TestCompiledAgentFromPython(t *testing.T) {
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler here")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CC", "")
	path, built, err := agent.BuildC(dir)
	if err != nil || built == 0 {
		t.Fatalf("BuildC = %s, %v, %v; want a fresh build", path, built, err)
	}
	if again, built, err := agent.BuildC(dir); err != nil || again != path || built != 0 {
		t.Fatalf("second BuildC = %s, %v, %v; want the cached %s", again, built, err, path)
	}
	i := allInterpreters(t)[0]
	runPythonSuite(t, i, path, filepath.Join(t.TempDir(), "crosscheck.ring"))
}

// TestBuildCWithoutCompiler: where pyprof carries no prebuilt agent and no
// compiler works, the error says so and what to do; nothing is left behind.
func TestBuildCWithoutCompiler(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "badcc")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\n[ \"$1\" = --version ] && { echo badcc 1.0; exit 0; }\necho 'badcc: error: nothing works' >&2\nexit 1\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cc, want string }{
		{filepath.Join(t.TempDir(), "nowhere"), "no C compiler"},
		{bad, "badcc: error: nothing works"},
	} {
		dir := filepath.Join(t.TempDir(), "cache")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Setenv("CC", tc.cc)
		_, _, err := agent.BuildC(dir)
		if !errors.Is(err, agent.ErrBuild) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CC=%s: BuildC = %v, want ErrBuild saying %q", tc.cc, err, tc.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("CC=%s left %d entries in the cache", tc.cc, len(entries))
		}
	}
}

// TestPrepareRefusesWhatTheAgentCannotServe: on a free-threaded build, or a
// release the agent is not tested on whose load-time checks fail, auto
// falls back to the twin with one line that says why, and --agent c fails.
func TestPrepareRefusesWhatTheAgentCannotServe(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", privateCache(t))
	real := allInterpreters(t)[0]
	old, err := exec.LookPath("python3.11")
	if err != nil {
		old = ""
	}
	tests := []struct {
		name string
		i    *agent.Interpreter
		want string
	}{
		{"free-threaded", &agent.Interpreter{Path: real.Path, Version: real.Version, FreeThreaded: true},
			"the C agent cannot run on " + real.Path + ", a free-threaded build"},
		// An older Python posing as an untested release: its load check runs,
		// and the import's error is the reason given.
		{"load check fails", &agent.Interpreter{Path: old, Version: [3]int{3, 15, 0}},
			"the C agent cannot run on Python 3.15.0: ImportError: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.i.Path == "" {
				t.Skip("no python3.11 here to pose as an unknown release")
			}
			p, err := agent.Prepare(tt.i, agent.Auto)
			if err != nil || p.Kind != agent.Python || !strings.HasPrefix(p.Warning, tt.want) ||
				!strings.HasSuffix(p.Warning, "; using the slower pure-Python agent") || strings.Contains(p.Warning, "\n") {
				t.Errorf("Prepare(auto) = %+v, %v; want the twin with the warning %q", p, err, tt.want)
			}
			if _, err := agent.Prepare(tt.i, agent.C); !errors.Is(err, agent.ErrUnsupported) {
				t.Errorf("Prepare(c) = %v, want ErrUnsupported", err)
			}
		})
	}
}

// An untested release whose load-time checks pass gets the C agent.
func TestPrepareLoadsOnAnUntestedRelease(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", privateCache(t))
	real := allInterpreters(t)[0]
	posing := *real
	posing.Version = [3]int{3, 15, 0}
	p, err := agent.Prepare(&posing, agent.Auto)
	if err != nil || p.Kind != agent.C || p.Warning != "" {
		t.Fatalf("Prepare = %+v, %v; want the C agent", p, err)
	}
}

func privateCache(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
