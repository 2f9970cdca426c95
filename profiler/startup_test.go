package profiler

import (
	"os"
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

// TestStartUpBytecodeRepaired: bytecode cut short (a write that ran out
// of disk keeps the file's name) is compiled anew, not run, and the
// program's cache prefix, which may be anyone's folder, never holds
// pyprof's bytecode.
func TestStartUpBytecodeRepaired(t *testing.T) {
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		cache, prefix := t.TempDir(), t.TempDir()
		t.Setenv("XDG_CACHE_HOME", cache)
		t.Setenv("PYTHONPYCACHEPREFIX", prefix)
		program := []string{"-c", "import sys; print('prefix', sys.pycache_prefix)"}
		recordWith(t, i, k, program, func(*Options) {})
		stems := []string{"bootstrap"}
		if k == agent.Python {
			stems = append(stems, "twin")
		}
		for _, stem := range stems {
			found, _ := filepath.Glob(filepath.Join(cache, "pyprof", "boot", "__pycache__", stem+"-*.pyc"))
			if len(found) != 1 {
				t.Fatalf("%s bytecode: %v, want one file", stem, found)
			}
			if err := os.Truncate(found[0], 4096); err != nil {
				t.Fatal(err)
			}
		}
		r := recordWith(t, i, k, program, func(*Options) {})
		if !strings.Contains(r.stdout, "prefix "+prefix) {
			t.Errorf("the program saw %q; want its own cache prefix, %s", r.stdout, prefix)
		}
		for _, stem := range stems {
			found, _ := filepath.Glob(filepath.Join(cache, "pyprof", "boot", "__pycache__", stem+"-*.pyc"))
			if info, err := os.Stat(found[0]); err != nil || info.Size() <= 4096 {
				t.Errorf("%s bytecode after a run: %v %v; want it written whole again", stem, info, err)
			}
		}
		var inPrefix []string
		if err := filepath.WalkDir(prefix, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				inPrefix = append(inPrefix, path)
			}
			return err
		}); err != nil || len(inPrefix) > 0 {
			t.Errorf("the program's cache prefix holds %v (%v); want nothing of pyprof's", inPrefix, err)
		}
	})
}
