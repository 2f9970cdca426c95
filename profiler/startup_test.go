package profiler

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/profiler/agent"
)

// TestStartUpBytecodeCached: the bootstrap (and the twin, for its agent)
// runs from bytecode cached in pyprof's private boot folder once a first
// run compiled it, even where the program asked for none to be written;
// the program still sees its own setting.
func TestStartUpBytecodeCached(t *testing.T) {
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		cache := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", cache)
		t.Setenv("PYTHONDONTWRITEBYTECODE", "1")
		r := recordWith(t, i, k, []string{"-c", "import sys; print('dont_write_bytecode', sys.dont_write_bytecode)"}, func(*Options) {})
		if !strings.Contains(r.stdout, "dont_write_bytecode True") {
			t.Errorf("the program saw %q; want its own setting, True", r.stdout)
		}
		cached := func(stem string) []string {
			found, _ := filepath.Glob(filepath.Join(cache, "pyprof", "boot", "__pycache__", stem+"-*.pyc"))
			return found
		}
		if got := cached("bootstrap"); len(got) != 1 {
			t.Errorf("bootstrap bytecode cached: %v, want one file", got)
		}
		if got := cached("twin"); k == agent.Python && len(got) != 1 {
			t.Errorf("twin bytecode cached: %v, want one file", got)
		}
	})
}
