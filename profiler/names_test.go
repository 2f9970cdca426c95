package profiler

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/profiler/agent"
)

// namedFuncs are the functions of testdata/programs/names, named as Python
// names them: two helper()s in two files called utils.py, a function of a
// package's __init__.py, the script's own, the wrapper a decorator of
// another module puts around one helper (functools.wraps gives the wrapper
// the helper's __module__; its code is still the decorator module's), and
// the same from a plugin run with exec in globals of a dict subclass, and
// a function that replaces its own __code__ while it runs, and one run in
// globals whose key "__name__" is a str subclass.
var namedFuncs = map[string]string{ // name -> the file it is defined in, by its tail
	"alpha.utils.helper":                    "alpha/utils.py",
	"beta.utils.helper":                     "beta/utils.py",
	"app.setup":                             "app/__init__.py",
	"__main__.main":                         "names/main.py",
	"deco.timed.<locals>.wrapper":           "names/deco.py",
	"plugins.timing.timed.<locals>.wrapper": "names/plugin.py",
	"__main__.spin":                         "names/main.py",
	"__main__.swapped":                      "names/main.py",
	"plugins.keyed.keyed":                   "names/main.py",
}

// fileNamed are the names the file-based guess gave them, which merged the
// two helpers and told the modes apart, and the name the wrapper's
// __module__ (set by functools.wraps) would give it.
var fileNamed = []string{"utils.helper", "__init__.setup", "main.main", "main.<module>", "main.swapped",
	"beta.utils.timed.<locals>.wrapper", "__main__.timed.<locals>.wrapper"}

// TestNamesInEveryMode records the names program in trace, sample and
// hybrid modes and checks that pprof and folded outputs name every
// function by its module's __name__ and qualname, the same in every mode,
// and that in hybrid mode sampled time sits on the traced nodes.
func TestNamesInEveryMode(t *testing.T) {
	file := program("names/main.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		target, err := ParseTarget([]string{file, "0.6"}, true)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Target: target, Python: i.Path, Agent: k, ToolID: 2, RingBytes: 1 << 20, Slots: 4,
			Poll: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard}
		so := SampleOptions{Rate: 200, Idle: true}
		t.Run("trace", func(t *testing.T) {
			res, err := Record(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			checkNames(t, res.Profile)
		})
		if k != agent.C {
			// Hybrid mode samples the program beside the C agent; under the
			// race detector the sampler sampled the twin's runs too rarely
			// (0-3 samples a run) to land in the helpers, so the twin's
			// names are checked in trace mode above.
			return
		}
		t.Run("hybrid", func(t *testing.T) {
			// A loaded machine can starve the sampler of a whole run; a
			// second run must then sample the helpers.
			for attempt := 1; ; attempt++ {
				res, st, err := RecordHybrid(context.Background(), o, so)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("attempt %d, sampling: %+v", attempt, st)
				checkNames(t, res.Profile)
				if checkSamplesOnCalls(t, res.Profile) > 0 {
					return
				}
				if attempt == 2 {
					t.Fatal("hybrid: no samples in either helper, in two runs")
				}
			}
		})
		// Sample mode has no agent: once per interpreter, here.
		t.Run("sample", func(t *testing.T) {
			res, _, err := RecordSampled(context.Background(), o, so)
			if err != nil {
				t.Fatal(err)
			}
			checkNames(t, res.Profile)
		})
	})
}

// checkNames writes p as pprof and as folded stacks and checks the names
// each shows.
func checkNames(t *testing.T, p *callgraph.Profile) {
	t.Helper()
	var pb, folded bytes.Buffer
	if err := export.WritePprof(&pb, p, export.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := export.WriteFolded(&folded, p, p.Default, export.Options{}); err != nil {
		t.Fatal(err)
	}
	checkPprofNames(t, pb.Bytes())
	checkFoldedNames(t, folded.String())
}

// checkPprofNames checks the functions of a pprof profile: each of
// namedFuncs once, with its own file, and none of the file-based names.
func checkPprofNames(t *testing.T, data []byte) {
	t.Helper()
	prof, err := profile.ParseData(data)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]string{}
	for _, f := range prof.Function {
		files[f.Name] = append(files[f.Name], f.Filename)
	}
	for name, tail := range namedFuncs {
		got := files[name]
		if len(got) != 1 || !strings.HasSuffix(got[0], "/"+tail) {
			t.Errorf("pprof: %s is in files %q, want one ending in %s", name, got, tail)
		}
	}
	for _, name := range fileNamed {
		if _, ok := files[name]; ok {
			t.Errorf("pprof: a function is named %s, not as Python names it", name)
		}
	}
	if _, ok := files["__main__.<module>"]; !ok {
		t.Errorf("pprof: no __main__.<module>")
	}
}

// checkFoldedNames checks that the folded stacks have main calling each
// of the others, under the script's module code.
func checkFoldedNames(t *testing.T, folded string) {
	t.Helper()
	stacks := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(folded))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		at := strings.LastIndexByte(line, ' ') // marker frames hold spaces
		stack, count := line[:max(at, 0)], line[at+1:]
		if n, err := strconv.ParseInt(count, 10, 64); at < 0 || err != nil || n <= 0 {
			t.Fatalf("folded line %q", sc.Text())
		}
		stacks[stack] = true
		for _, name := range fileNamed {
			if strings.Contains(";"+stack+";", ";"+name+";") {
				t.Errorf("folded: %s, not as Python names it, in %s", name, stack)
			}
		}
	}
	for _, callee := range []string{"alpha.utils.helper", "deco.timed.<locals>.wrapper;beta.utils.helper", "plugins.timing.timed.<locals>.wrapper;__main__.spin", "__main__.swapped;__main__.spin", "app.setup"} {
		want := "__main__.<module>;__main__.main;" + callee
		if !stacks[want] {
			t.Errorf("folded: no stack %s", want)
		}
	}
}

// checkSamplesOnCalls checks a hybrid profile: every sampled node of
// namedFuncs is a calling context the trace saw (the same functions and
// call lines from the root), which the trace and the sampler name alike.
// It returns the samples in the helpers, which must not be none.
func checkSamplesOnCalls(t *testing.T, p *callgraph.Profile) int64 {
	t.Helper()
	calls, samples := map[string]int64{}, map[string]int64{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			var key strings.Builder
			for _, n := range path {
				key.WriteString(p.Funcs[n.Func].Name + ":" + strconv.Itoa(int(n.CallLine)) + ";")
			}
			n := path[len(path)-1]
			calls[key.String()] += n.Total[callgraph.Calls]
			samples[key.String()] += n.Total[callgraph.Samples]
		})
	}
	sampledHelpers := int64(0)
	for key, n := range samples {
		funcs := strings.Split(strings.TrimSuffix(key, ";"), ";")
		name, _, _ := strings.Cut(funcs[len(funcs)-1], ":")
		if _, ours := namedFuncs[name]; !ours || n == 0 {
			continue
		}
		if strings.HasSuffix(name, ".helper") {
			sampledHelpers += n
		}
		if calls[key] == 0 {
			t.Errorf("hybrid: %d samples on %s, a path with no traced call", n, key)
		}
	}
	if t.Failed() {
		for key, n := range calls {
			t.Logf("traced: %d calls %s", n, key)
		}
	}
	return sampledHelpers
}

// TestOddNamesAlikeInEveryMode records functions whose module names and
// file names UTF-8 cannot carry whole (a lone surrogate; a name of 6000
// bytes) with both agents and in sample mode: each writes a lone
// surrogate as "?" and cuts a long name at the same character's end, so
// that hybrid mode finds one function where trace and sampler saw one.
func TestOddNamesAlikeInEveryMode(t *testing.T) {
	long := strings.Repeat("\u00e9", 2048) // 4096 bytes: the most the agents write
	want := map[string]string{"sur?mod.burn": "/srv/caf?/plugin.py", long + ".burn": "/srv/long.py"}
	check := func(t *testing.T, p *callgraph.Profile) {
		t.Helper()
		got := map[string]string{}
		for _, f := range p.Funcs {
			if strings.HasSuffix(f.Name, ".burn") {
				got[f.Name] = f.Filename
			}
		}
		for name, file := range want {
			if got[name] != file {
				t.Errorf("%.40q: file %q, want %q (functions named *.burn: %.60q)", name, got[name], file, got)
			}
		}
	}
	file := program("oddnames.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		target, err := ParseTarget([]string{file, "0.3"}, true)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Target: target, Python: i.Path, Agent: k, ToolID: 2, RingBytes: 1 << 20, Slots: 4,
			Poll: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard}
		res, err := Record(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		check(t, res.Profile)
		if k != agent.C {
			return
		}
		t.Run("sample", func(t *testing.T) {
			res, _, err := RecordSampled(context.Background(), o, SampleOptions{Rate: 200, Idle: true})
			if err != nil {
				t.Fatal(err)
			}
			check(t, res.Profile)
		})
	})
}
