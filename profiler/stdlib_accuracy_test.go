//go:build !race

// Counts are exact with or without the race detector, but one suite makes
// the detector's cost prohibitive: 3.13's test_json encodes objects nested
// until recursion fails, through generators delegating to one another
// thousands deep, and every item resumes the whole chain, some 100 million
// events that the race-instrumented consumer takes minutes to build. The
// test command's second pass, without -race, runs it (its name holds
// "Accuracy").

package profiler

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pyprof/pyprof/profiler/agent"
)

// TestStdlibSuitesCountAccuracy records the standard library's own
// unittest suites as programs (python -m unittest test.test_json): every
// function's calls, the standard library's and the import machinery's
// included, equal the PY_START events a cold counter saw, which only holds
// when pyprof's start-up imported and warmed nothing the program uses.
// random is seeded (and hashes fixed) so that both runs do the same work.
func TestStdlibSuitesCountAccuracy(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	seeded := t.TempDir()
	seed := "import random\nrandom.seed(20261202)\n"
	if err := os.WriteFile(filepath.Join(seeded, "sitecustomize.py"), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PYTHONHASHSEED", "0")
	t.Chdir(t.TempDir())
	for _, i := range interpreters {
		for _, suite := range []struct{ module, path string }{{"test.test_json", ""}, {"test.test_heapq", seeded}} {
			t.Run(i.VersionString()+"/"+suite.module, func(t *testing.T) {
				if err := exec.Command(i.Path, "-c", "import "+suite.module).Run(); err != nil {
					t.Skipf("Python %s has no %s (no test package installed)", i.VersionString(), suite.module)
				}
				t.Setenv("PYTHONPATH", suite.path)
				words := []string{"-m", "unittest", suite.module}
				p := recordWith(t, i, agent.C, words, func(*Options) {}).res.Profile
				assertAllCountsExact(t, p, referenceCounts(t, i, words...), func() map[funcKey]int64 {
					return referenceCounts(t, i, append([]string{"--deeper"}, words...)...)
				})
			})
		}
	}
}
