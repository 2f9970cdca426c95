package sample

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFunctionOffsetsLive checks the PyFunctionObject offsets the sampler
// reads a module name through against a running interpreter of every
// version here, 3.14 included, whose headers are not installed: func_code
// must hold the address of f.__code__, func_module that of f.__module__.
func TestFunctionOffsetsLive(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		prog := `import ctypes, sys
def f(): pass
f.__module__ = "a.module.of.its.own"
at = lambda off: ctypes.c_void_p.from_address(id(f) + off).value
print(at(int(sys.argv[1])) == id(f.__code__), at(int(sys.argv[2])) == id(f.__module__))`
		out, err := exec.Command(py.path, "-c", prog, strconv.Itoa(funcCodeOffset), strconv.Itoa(funcModuleOffset)).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "True True" {
			t.Errorf("func_code at %d, func_module at %d: %s, want True True", funcCodeOffset, funcModuleOffset, got)
		}
	})
}

// TestCodeModules samples a program whose two packages each have a
// utils.py defining helper(), with work in a package's __init__.py, and
// checks that each code object carries the __name__ of its module, read
// through the running frame's function (f_funcobj, func_module): the
// offsets of every version here, checked on live frames.
func TestCodeModules(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		p := attach(t, startTarget(t, py, "../programs/names/main.py", "--forever"))
		want := map[string]string{ // file's tail and qualname -> module
			"names/main.py main":     "__main__",
			"names/main.py <module>": "__main__",
			"alpha/utils.py helper":  "alpha.utils",
			"beta/utils.py helper":   "beta.utils",
			// functools.wraps set the wrapper's __module__ to beta.utils;
			// its code's module is still deco.
			"names/deco.py timed.<locals>.wrapper": "deco",
			// Run with exec in globals of a dict subclass, __name__ set
			// after 200 other keys, under a str object of its own.
			"names/plugin.py timed.<locals>.wrapper": "plugins.timing",
			// Its function's __code__ is another's while it runs.
			"names/main.py swapped": "__main__",
			// Its globals' key "__name__" is a str subclass.
			"names/main.py keyed": "plugins.keyed",
		}
		seen := map[string]string{}
		deadline := time.Now().Add(10 * time.Second)
		for len(seen) < len(want) && time.Now().Before(deadline) {
			snap, err := p.Sample()
			if err != nil {
				t.Fatal(err)
			}
			for _, th := range snap.Threads {
				for _, f := range th.Frames {
					key := tail(f.Code.Filename) + " " + f.Code.Qualname
					if _, ok := want[key]; ok {
						seen[key] = f.Code.Module
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
		for key, module := range want {
			if got, ok := seen[key]; !ok {
				t.Errorf("%s never sampled", key)
			} else if got != module {
				t.Errorf("%s: module %q, want %q", key, got, module)
			}
		}
	})
}

// tail returns the last two elements of a path.
func tail(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return path
	}
	return strings.Join(parts[len(parts)-2:], "/")
}
