package profiler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
)

// firstLineModules is what the cold programs print at their first line:
// one line "modules NAME..." of sys.modules, sorted, and one "finders
// PATH..." of the paths whose finders the path hooks' cache holds. The package's __init__
// prints them too, as -m's first line is its parent package's.
const firstLineModules = "import sys; print('modules', *sorted(sys.modules)); print('finders', *sorted(sys.path_importer_cache))\n"

// writeColdPrograms makes a script and a package with a module in dir,
// each printing sys.modules at its first line.
func writeColdPrograms(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"first.py":            firstLineModules,
		"coldpkg/__init__.py": firstLineModules,
		"coldpkg/first.py":    firstLineModules,
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// moduleLines returns the "modules" and "finders" lines a program printed.
func moduleLines(out string) []string {
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "modules ") || strings.HasPrefix(line, "finders ") {
			lines = append(lines, line)
		}
	}
	return lines
}

// withoutAgent drops pyprof's extension module from a modules line: the
// one module pyprof may add.
func withoutAgent(line string) string {
	return strings.Join(slices.DeleteFunc(strings.Fields(line), func(m string) bool { return m == "_pyprof_agent" }), " ")
}

// TestProgramStartsCold: at the program's first line sys.modules (and
// the path hooks' cache) is the same with and without pyprof, but for
// pyprof's agent module, in trace and hybrid modes, with the C agent and
// its pure-Python twin, for a script, -c and -m (whose parent package's
// first line is the program's first).
func TestProgramStartsCold(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	dir := t.TempDir()
	writeColdPrograms(t, dir)
	t.Chdir(dir)
	forms := []struct {
		name  string
		words []string
	}{
		{"script", []string{"first.py"}},
		{"-c", []string{"-c", firstLineModules}},
		{"-m", []string{"-m", "coldpkg.first"}},
	}
	for _, i := range interpreters {
		for _, form := range forms {
			t.Run(i.VersionString()+"/"+form.name, func(t *testing.T) {
				plain, err := exec.Command(i.Path, form.words...).Output()
				if err != nil {
					t.Fatalf("%s %v: %v", i.Path, form.words, err)
				}
				want := moduleLines(string(plain))
				if len(want) == 0 {
					t.Fatalf("the program printed no modules line:\n%s", plain)
				}
				for _, kind := range coldAgents(i) {
					for _, mode := range []string{"trace", "hybrid"} {
						how := fmt.Sprintf("%s agent, %s", kind, mode)
						got := moduleLines(recordMode(t, i, kind, mode, form.words))
						if len(got) != len(want) {
							t.Errorf("%s: %d modules lines under pyprof, %d without", how, len(got), len(want))
							continue
						}
						for k := range want {
							assertSameModules(t, how, want[k], got[k])
						}
					}
				}
			})
		}
	}
}

// TestFollowedChildStartsCold: a new interpreter the program starts,
// followed with --subprocesses, has at its first line the modules it has
// alone, but for pyprof's agent module and the sitecustomize through which
// pyprof follows it (found first on PYTHONPATH), with either agent. The
// path hooks' cache is not compared: PYTHONPATH has pyprof's folder first.
func TestFollowedChildStartsCold(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	dir := t.TempDir()
	writeColdPrograms(t, dir)
	t.Chdir(dir)
	parent := []string{"-c", "import subprocess, sys; subprocess.run([sys.executable, 'first.py'], check=True)"}
	for _, i := range interpreters {
		t.Run(i.VersionString(), func(t *testing.T) {
			plain, err := exec.Command(i.Path, "first.py").Output()
			if err != nil {
				t.Fatalf("%s first.py: %v", i.Path, err)
			}
			want := withoutSitecustomize(moduleLines(string(plain))[0])
			for _, kind := range coldAgents(i) {
				r := recordWith(t, i, kind, parent, func(o *Options) { o.Subprocesses = true })
				got := moduleLines(r.stdout)
				if len(got) == 0 {
					t.Fatalf("%s agent: the child printed no modules line:\n%s", kind, r.stdout)
				}
				assertSameModules(t, fmt.Sprintf("%s agent, child", kind), want, withoutSitecustomize(got[0]))
			}
		})
	}
}

// withoutSitecustomize drops sitecustomize from a modules line: pyprof's
// own, in a followed child, or the interpreter's, which pyprof's runs.
func withoutSitecustomize(line string) string {
	return strings.Join(slices.DeleteFunc(strings.Fields(line), func(m string) bool { return m == "sitecustomize" }), " ")
}

// coldAgents returns the agents that can record on i: both, but for a
// free-threaded Python, which the C agent refuses.
func coldAgents(i *agent.Interpreter) []agent.Kind {
	if i.FreeThreaded {
		return []agent.Kind{agent.Python}
	}
	return []agent.Kind{agent.C, agent.Python}
}

// assertSameModules compares one modules line under pyprof (recorded as
// how says) with the one printed without it.
func assertSameModules(t *testing.T, how, plain, profiled string) {
	t.Helper()
	want, got := strings.Fields(plain)[1:], strings.Fields(withoutAgent(profiled))[1:]
	var extra, missing []string
	for _, m := range got {
		if !slices.Contains(want, m) {
			extra = append(extra, m)
		}
	}
	for _, m := range want {
		if !slices.Contains(got, m) {
			missing = append(missing, m)
		}
	}
	if len(extra)+len(missing) > 0 {
		t.Errorf("%s: at the first line pyprof had %v more and %v less than the interpreter alone (%s)", how, extra, missing, strings.Fields(plain)[0])
	}
}

// recordMode records words with the agent kind in mode (trace or hybrid)
// and returns what the program printed.
func recordMode(t *testing.T, i *agent.Interpreter, kind agent.Kind, mode string, words []string) string {
	t.Helper()
	if mode == "trace" {
		return recordWith(t, i, kind, words, func(*Options) {}).stdout
	}
	target, err := ParseTarget(words, true)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	o := Options{Target: target, Python: i.Path, Agent: kind, ToolID: 2, RingBytes: 1 << 20, Slots: 16,
		Poll: time.Millisecond, Stdout: &out, Stderr: &errb}
	res, _, err := RecordHybrid(context.Background(), o, SampleOptions{Rate: 100})
	if err != nil {
		t.Fatalf("hybrid recording of %v: %v\nstderr: %s", words, err, errb.String())
	}
	if res.Agent.Kind != kind {
		t.Fatalf("asked for the %s agent, got %s (%s)", kind, res.Agent.Kind, res.Agent.Warning)
	}
	return out.String()
}

// waitsOnAChild reports whether key runs once per wake-up of
// subprocess's loop that polls a child's pipes (Popen.communicate): its
// count is the number of times the child's output arrived in pieces,
// which two quick reference runs can agree on while a slower profiled
// run does not.
func waitsOnAChild(key funcKey) bool {
	switch key.qualname {
	case "Popen._check_timeout", "Popen._remaining_time":
		return filepath.Base(key.file) == "subprocess.py"
	}
	return filepath.Base(key.file) == "selectors.py"
}

// assertAllCountsExact checks every function the reference counted, in
// any file, against the profile's calls of it. Where they differ, the
// reference runs again, with the program's stack starting deeper: a
// function whose count differs between the two reference runs too is
// left out, logged. Its count depends on timing (test_json waits for a
// child's output in a select loop) or on how deep the stack is (test_json
// recurses until the C recursion limit, where the reference's callback, a
// Python frame, takes one level more than pyprof's C callback).
func assertAllCountsExact(t *testing.T, p *callgraph.Profile, ref map[funcKey]int64, deeper func() map[funcKey]int64) {
	t.Helper()
	if len(ref) < 100 {
		t.Fatalf("only %d functions in the reference counts: the suite did not run", len(ref))
	}
	have := profileCounts(p)
	var wrong []funcKey
	for key, want := range ref {
		if have(key) != want {
			wrong = append(wrong, key)
		}
	}
	var again map[funcKey]int64
	if len(wrong) > 0 {
		again = deeper()
	}
	failed := 0
	for _, key := range wrong {
		if waitsOnAChild(key) {
			t.Logf("a poll on a child's pipe, left out: %s (%s:%d): %d calls in the reference run, %d under pyprof",
				key.qualname, key.file, key.line, ref[key], have(key))
			continue
		}
		if again[key] != ref[key] {
			t.Logf("timing- or depth-dependent, left out: %s (%s:%d): %d and %d calls in two reference runs, %d under pyprof",
				key.qualname, key.file, key.line, ref[key], again[key], have(key))
			continue
		}
		if failed++; failed <= 30 {
			t.Errorf("%s (%s:%d): pyprof counted %d calls, sys.monitoring raised %d PY_START", key.qualname, key.file, key.line, have(key), ref[key])
		}
	}
	if failed > 30 {
		t.Errorf("and %d more functions counted wrong", failed-30)
	}
	t.Logf("%d functions counted exactly as the reference", len(ref)-len(wrong))
}

// profileCounts returns a function giving the profile's calls of the
// function the reference names by qualname, file and first line; a
// display name is the qualname after the module's name.
func profileCounts(p *callgraph.Profile) func(funcKey) int64 {
	type place struct {
		file string
		line int
	}
	named := map[place]map[string]int64{}
	for id, n := range calls(p) {
		if f := p.Funcs[id]; f.Kind == callgraph.KindPython {
			at := place{f.Filename, f.StartLine}
			if named[at] == nil {
				named[at] = map[string]int64{}
			}
			named[at][f.Name] += n
		}
	}
	return func(key funcKey) int64 {
		var got int64
		for name, n := range named[place{key.file, key.line}] {
			if name == key.qualname || strings.HasSuffix(name, "."+key.qualname) {
				got += n
			}
		}
		return got
	}
}

// TestHybridSamplesNoStartUp records a short program in hybrid mode at a
// high rate: the sampler starts with the trace, so no sample of the
// interpreter's own start-up (site and encodings, imported before the
// program) sits beside a trace that has none of it. Before, the import
// frames of a hybrid profile named site and encodings as the program's.
func TestHybridSamplesNoStartUp(t *testing.T) {
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, kind agent.Kind) {
		if kind != agent.C {
			return // the sampler is the same beside either agent
		}
		target, err := ParseTarget([]string{"-c", "sum(range(3_000_000))"}, true)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Target: target, Python: i.Path, Agent: kind, ToolID: 2, RingBytes: 1 << 20, Slots: 16,
			Poll: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard}
		for run := range 3 {
			res, st, err := RecordHybrid(context.Background(), o, SampleOptions{Rate: 2000})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Profile.Funcs {
				if strings.HasSuffix(f.Filename, "/site.py") || strings.Contains(f.Filename, "/encodings/") {
					t.Fatalf("run %d: %s (%s) of the interpreter's start-up in the profile (sampling: %+v)", run, f.Name, f.Filename, st)
				}
			}
		}
	})
}
