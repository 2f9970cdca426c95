package agent_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pyprof/pyprof/profiler/agent"
)

// olderAndNewest returns the oldest and the newest Python 3.12+ found; the
// tests of Discover's preferences need two, or the newest is the only
// answer and the preference cannot show.
func olderAndNewest(t *testing.T) (older, newest *agent.Interpreter) {
	t.Helper()
	all := agent.All()
	if len(all) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	if len(all) < 2 {
		t.Skipf("only %s found: telling a preference from the newest needs two Pythons", all[0].VersionString())
	}
	return all[len(all)-1], all[0]
}

// TestDiscoverPrefersNamedPython: what python -m pyprof names in
// PYPROF_PYTHON, the Python that runs it, records the program, not the
// newest Python on the machine.
func TestDiscoverPrefersNamedPython(t *testing.T) {
	older, newest := olderAndNewest(t)
	t.Setenv(agent.PythonEnv, older.Executable)
	got, err := agent.Discover()
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != older.Version {
		t.Errorf("Discover with %s=%s ran Python %s, want %s (the newest is %s)",
			agent.PythonEnv, older.Executable, got.VersionString(), older.VersionString(), newest.VersionString())
	}
	t.Setenv(agent.PythonEnv, filepath.Join(t.TempDir(), "nothing"))
	if _, err := agent.Discover(); err == nil {
		t.Errorf("Discover with %s naming no file found an interpreter", agent.PythonEnv)
	}
}

// TestDiscoverPrefersPython3OnPath: `pyprof record app.py` runs the Python
// that `python3 app.py` runs, an active virtual environment's, when it is
// 3.12 or newer, even where a newer one is installed.
func TestDiscoverPrefersPython3OnPath(t *testing.T) {
	older, newest := olderAndNewest(t)
	t.Setenv(agent.PythonEnv, "")
	bin := t.TempDir()
	if err := os.Symlink(older.Executable, filepath.Join(bin, "python3")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	got, err := agent.Discover()
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != older.Version {
		t.Errorf("Discover with python3 -> %s first on PATH ran Python %s, want %s (the newest is %s)",
			older.Executable, got.VersionString(), older.VersionString(), newest.VersionString())
	}
}
