package profiler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/wire"
)

var (
	interpretersOnce sync.Once
	interpreters     []*agent.Interpreter
)

// forEachSetup runs fn under every Python 3.12+ found here and both agents.
// No such interpreter at all is a failure: the tests would prove nothing.
func forEachSetup(t *testing.T, fn func(t *testing.T, i *agent.Interpreter, k agent.Kind)) {
	t.Helper()
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found: install one (pyenv install 3.12) or put python3.12 on PATH")
	}
	if no314 != nil {
		t.Run("3.14", func(t *testing.T) { t.Skip(no314) })
	}
	for _, i := range interpreters {
		for _, k := range []agent.Kind{agent.C, agent.Python} {
			t.Run(fmt.Sprintf("%s/%s", i.VersionString(), k), func(t *testing.T) { fn(t, i, k) })
		}
	}
}

func program(name string) string {
	p, _ := filepath.Abs(filepath.Join("..", "testdata", "programs", name))
	return p
}

type recording struct {
	res    *Result
	stdout string
	stderr string
}

func record(t *testing.T, i *agent.Interpreter, k agent.Kind, words []string, signals <-chan os.Signal, stdout io.Writer) recording {
	t.Helper()
	return recordWith(t, i, k, words, func(o *Options) {
		o.Signals = signals
		if stdout != nil {
			o.Stdout = stdout
		}
	})
}

// recordWith records words with the test's usual options, changed by set.
func recordWith(t *testing.T, i *agent.Interpreter, k agent.Kind, words []string, set func(*Options)) recording {
	t.Helper()
	target, err := ParseTarget(words, true)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	o := Options{
		// The smallest ring pyprof takes: one that holds the largest
		// definition record (a module of 100,000 functions has one).
		Target: target, Python: i.Path, Agent: k, ToolID: 2, RingBytes: wire.MinRingBytes(), Slots: 16, // few slots: recycling is exercised
		Poll: time.Millisecond, Stdout: &out, Stderr: &errb,
		Notice: func(msg string) { t.Log(msg) },
	}
	set(&o)
	res, err := Record(context.Background(), o)
	if err != nil {
		t.Fatalf("recording %v: %v\nstderr: %s", words, err, errb.String())
	}
	if res.Agent.Kind != k {
		t.Fatalf("asked for the %s agent, got %s (%s)", k, res.Agent.Kind, res.Agent.Warning)
	}
	// The start-up's own frames were running before monitoring began
	// (start.py's module code, its exec of the bootstrap, the bootstrap's
	// module code and its _main): their leaves are the only ones that may
	// match no enter. A followed child starts recording inside the frames
	// open at its fork, whose leaves match nothing either.
	if res.Stats.DecodeErrors != 0 || res.Stats.Lost != 0 || res.Stats.Mismatched > 4 && !o.Subprocesses {
		t.Fatalf("stats %+v", res.Stats)
	}
	return recording{res: res, stdout: out.String(), stderr: errb.String()}
}

// funcKey identifies a Python function the way the reference counter does.
type funcKey struct {
	qualname, file string
	line           int
}

// refcountScript is testdata/refcount.py, found before a test changes
// the working folder.
var refcountScript, _ = filepath.Abs(filepath.Join("..", "testdata", "refcount.py"))

// referenceCounts runs program under testdata/refcount.py: PY_START events
// per code object, counted by sys.monitoring with nothing of pyprof loaded.
func referenceCounts(t *testing.T, i *agent.Interpreter, words ...string) map[funcKey]int64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "counts.json")
	cmd := exec.Command(i.Path, append([]string{refcountScript, out}, words...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	counts := map[funcKey]int64{}
	for _, r := range rows {
		counts[funcKey{r[0].(string), r[1].(string), int(r[2].(float64))}] += int64(r[3].(float64))
	}
	return counts
}

// calls sums each function's calls over the whole profile, by the
// function's file and first line (qualnames are inside display names).
func calls(p *callgraph.Profile) map[callgraph.FuncID]int64 {
	out := map[callgraph.FuncID]int64{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			out[n.Func] += n.Total[callgraph.Calls]
		})
	}
	return out
}

// assertExactCounts checks that every function of the program's file was
// called exactly as often as sys.monitoring raised PY_START for it.
func assertExactCounts(t *testing.T, p *callgraph.Profile, ref map[funcKey]int64, file string) {
	t.Helper()
	// At least the module and one function: the reference ran.
	assertCountsOfAtLeast(t, p, ref, file, 2)
}

// assertCountsOfAtLeast checks the counts of file's functions as
// assertExactCounts does, finding functions by file, first line and
// qualname whatever module name they carry, and fails unless the reference
// holds at least least of them.
func assertCountsOfAtLeast(t *testing.T, p *callgraph.Profile, ref map[funcKey]int64, file string, least int) {
	t.Helper()
	got := calls(p)
	checked := 0
	for key, want := range ref {
		if key.file != file {
			continue
		}
		checked++
		var have int64
		name := key.qualname
		for id, n := range got {
			f := p.Funcs[id]
			if strings.HasSuffix(f.Name, "."+name) && f.Filename == key.file && f.StartLine == key.line {
				have += n
			}
		}
		if have != want {
			t.Errorf("%s (line %d): pyprof counted %d calls, sys.monitoring raised %d PY_START", name, key.line, have, want)
		}
	}
	if checked < least {
		t.Fatalf("only %d functions of %s in the reference counts", checked, file)
	}
}

// paths lists every root-first path of the profile as "a;b;c" with the
// node's calls, for shape assertions.
func paths(p *callgraph.Profile, thread string) map[string]int64 {
	out := map[string]int64{}
	for _, th := range p.Threads {
		if thread != "" && th.Name != thread {
			continue
		}
		th.Root.Walk(func(path []*callgraph.Node) {
			names := make([]string, len(path))
			for i, n := range path {
				names[i] = p.Funcs[n.Func].Name
			}
			out[strings.Join(names, ";")] += path[len(path)-1].Total[callgraph.Calls]
		})
	}
	return out
}

func assertPaths(t *testing.T, got map[string]int64, want map[string]int64) {
	t.Helper()
	for path, n := range want {
		if got[path] != n {
			t.Errorf("path %s: %d calls, want %d", path, got[path], n)
		}
	}
	if t.Failed() {
		for path, n := range got {
			t.Logf("have %s %d", path, n)
		}
	}
}

// lineOf returns the 1-based line of the first line of file containing s.
func lineOf(t *testing.T, file, s string) int32 {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, s) {
			return int32(i + 1)
		}
	}
	t.Fatalf("%s has no line containing %q", file, s)
	return 0
}

func TestRecordCalls(t *testing.T) {
	file := program("calls.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		r := record(t, i, k, []string{file}, nil, nil)
		p := r.res.Profile
		assertExactCounts(t, p, referenceCounts(t, i, file), file)
		m := "__main__.<module>;__main__.main;"
		assertPaths(t, paths(p, "MainThread"), map[string]int64{
			"__main__.<module>":             1,
			m + "__main__.fib":              1,
			m + "__main__.fib;__main__.fib": 2,
			// A class is called natively and named by its __module__.
			m + "__main__.Point":                         10,
			m + "__main__.Point;__main__.Point.__init__": 10,
			// sum() drives the generator: the first resumption is its start.
			m + "builtins.sum;__main__.delegate":              1,
			m + "builtins.sum;__main__.delegate;__main__.gen": 1,
			m + "__main__.catch;__main__.deep;__main__.deep;__main__.deep;__main__.deep;__main__.deep;__main__.deep;builtins.ValueError": 3,
			m + "__main__.keyed;builtins.sorted;__main__.keyed.<locals>.<lambda>":                                                        20,
			m + "__main__.Point.norm": 4,
			m + "builtins.sum;__main__.main.<locals>.<genexpr>;__main__.Point.norm": 10,
		})
		// The caller's frame carries the line it called from.
		main := findPath(t, p, "__main__.<module>", "__main__.main", "__main__.fib")
		if want := lineOf(t, file, "    fib(15)"); main.CallLine != want {
			t.Errorf("main calls fib from line %d, want %d", main.CallLine, want)
		}
		assertNoStartupFrames(t, p)
	})
}

// TestRecordPythonOnly records calls.py with SkipNative
// (--native-calls=false): no CALL events, so no native callables; Python
// calls keep their exact counts and, read from the caller's frame, the
// lines they were called from, the same as CALL gives them.
func TestRecordPythonOnly(t *testing.T) {
	file := program("calls.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		full := record(t, i, k, []string{file}, nil, nil).res.Profile
		p := recordWith(t, i, k, []string{file}, func(o *Options) { o.SkipNative = true }).res.Profile
		assertExactCounts(t, p, referenceCounts(t, i, file), file)
		for _, f := range p.Funcs {
			if f.Kind == callgraph.KindNative {
				t.Errorf("native %s recorded without CALL events", f.Name)
			}
		}
		fast := pythonEdges(p)
		for e := range pythonEdges(full) {
			if !fast[e] {
				t.Errorf("call %s not in the Python-only profile", e)
			}
		}
		if want := lineOf(t, file, "    fib(15)"); findPath(t, p, "__main__.<module>", "__main__.main", "__main__.fib").CallLine != want {
			t.Errorf("main calls fib from a line other than %d", want)
		}
		// Called by sorted, which is not recorded: the line of the sorted call.
		lam := findPath(t, p, "__main__.<module>", "__main__.main", "__main__.keyed", "__main__.keyed.<locals>.<lambda>")
		if want := lineOf(t, file, "return sorted(items"); lam.CallLine != want {
			t.Errorf("the key lambda is called from line %d, want %d", lam.CallLine, want)
		}
	})
}

// TestRecordEnteredWithoutCall: a Python function entered with no CALL of
// its own (a generator run by C code iterating it, a property, __getitem__,
// __enter__, a Python __next__) is filed under the line its caller is at,
// read from the caller's frame, never under the caller's def line.
func TestRecordEnteredWithoutCall(t *testing.T) {
	file := program("entered.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		p := record(t, i, k, []string{file}, nil, nil).res.Profile
		entered := map[string]string{ // callee: the marker of its caller's line
			"__main__.use_enumerate > __main__.gen":        "# @enumerate",
			"__main__.use_zip > __main__.gen":              "# @zip",
			"__main__.use_box > __main__.Box.size":         "# @property",
			"__main__.use_box > __main__.Box.__getitem__":  "# @getitem",
			"__main__.use_box > __main__.Box.__enter__":    "# @enter",
			"__main__.use_count > __main__.Count.__next__": "# @next",
		}
		seen := map[string][]int32{}
		for _, th := range p.Threads {
			th.Root.Walk(func(path []*callgraph.Node) {
				if len(path) < 2 {
					return
				}
				caller, callee := path[len(path)-2], path[len(path)-1]
				edge := p.Funcs[caller.Func].Name + " > " + p.Funcs[callee.Func].Name
				if _, ok := entered[edge]; ok {
					seen[edge] = append(seen[edge], callee.CallLine)
				}
			})
		}
		for edge, marker := range entered {
			want := lineOf(t, file, marker)
			if len(seen[edge]) == 0 {
				t.Errorf("%s: not in the profile", edge)
			}
			for _, line := range seen[edge] {
				if line != want {
					t.Errorf("%s: entered from line %d, want %d", edge, line, want)
				}
			}
		}
	})
}

// pythonEdges lists the calls between Python functions of a profile as
// "caller -> callee @ line", for those whose call line is known.
func pythonEdges(p *callgraph.Profile) map[string]bool {
	out := map[string]bool{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			if len(path) < 2 {
				return
			}
			caller, callee := path[len(path)-2], path[len(path)-1]
			if callee.CallLine == 0 || p.Funcs[caller.Func].Kind != callgraph.KindPython || p.Funcs[callee.Func].Kind != callgraph.KindPython {
				return
			}
			out[fmt.Sprintf("%s -> %s @ %d", p.Funcs[caller.Func].Name, p.Funcs[callee.Func].Name, callee.CallLine)] = true
		})
	}
	return out
}

// findPath returns the node at the end of the named root-first path in the
// main thread.
func findPath(t *testing.T, p *callgraph.Profile, names ...string) *callgraph.Node {
	t.Helper()
	for _, th := range p.Threads {
		n := th.Root
	next:
		for _, name := range names {
			for _, c := range n.Children {
				if p.Funcs[c.Func].Name == name {
					n = c
					continue next
				}
			}
			n = nil
			break
		}
		if n != nil {
			return n
		}
	}
	t.Fatalf("no path %v", names)
	return nil
}

// assertNoStartupFrames checks that the program's <module> is the main
// thread's first root and that nothing of pyprof's start-up shows.
func assertNoStartupFrames(t *testing.T, p *callgraph.Profile) {
	t.Helper()
	for _, f := range p.Funcs {
		if strings.Contains(f.Filename, "bootstrap-") || strings.HasSuffix(f.Filename, "runpy.py") ||
			strings.Contains(f.Filename, "twin-") || strings.Contains(f.Name, "_pyprof_agent") ||
			strings.HasSuffix(f.Filename, "sitecustomize.py") {
			t.Errorf("start-up frame in the profile: %s (%s)", f.Name, f.Filename)
		}
	}
	for _, th := range p.Threads {
		if th.Name == "MainThread" && th.PID == 0 {
			if first := p.Funcs[th.Root.Children[0].Func]; !strings.HasSuffix(first.Name, ".<module>") {
				t.Errorf("main thread's first root is %s, want the program's <module>", first.Name)
			}
		}
	}
}

func TestRecordThreads(t *testing.T) {
	file := program("threads.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		p := record(t, i, k, []string{file}, nil, nil).res.Profile
		assertExactCounts(t, p, referenceCounts(t, i, file), file)
		entry := "threading.Thread._bootstrap;threading.Thread._bootstrap_inner;threading.Thread.run;__main__.worker"
		if i.Version[1] >= 14 {
			// From 3.14 a thread runs in its own context: run is called
			// through Context.run, a native method, shown as a frame.
			entry = strings.Replace(entry, "_bootstrap_inner;", "_bootstrap_inner;_contextvars.Context.run;", 1)
		}
		for w := 0; w < 3; w++ {
			name := fmt.Sprintf("worker-%d", w)
			assertPaths(t, paths(p, name), map[string]int64{
				entry:                    1,
				entry + ";__main__.work": int64(w + 1),
			})
		}
		ids := map[int64]bool{}
		for _, th := range p.Threads {
			if th.ID <= 0 || ids[th.ID] {
				t.Errorf("thread %q has native id %d", th.Name, th.ID)
			}
			ids[th.ID] = true
		}
		if len(p.Threads) != 4 {
			t.Errorf("%d threads, want MainThread and 3 workers", len(p.Threads))
		}
	})
}

func TestRecordCoroutines(t *testing.T) {
	file := program("coroutines.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		p := record(t, i, k, []string{file}, nil, nil).res.Profile
		assertExactCounts(t, p, referenceCounts(t, i, file), file)
		// Each coroutine starts once however often it is resumed, and a
		// resumed leaf sits under its middle, which sits under the loop.
		var leafCalls, resumedUnderMiddle int64
		for path, n := range paths(p, "") {
			if strings.HasSuffix(path, "__main__.leaf") {
				leafCalls += n
				if strings.HasSuffix(path, "__main__.middle;__main__.leaf") {
					resumedUnderMiddle++
				}
			}
		}
		if leafCalls != 20 || resumedUnderMiddle == 0 {
			t.Errorf("leaf calls %d (want 20), leaf paths under middle %d", leafCalls, resumedUnderMiddle)
		}
	})
}

func TestRecordEndings(t *testing.T) {
	file := program("exits.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		for _, tc := range []struct {
			how    string
			status int
		}{{"return", 0}, {"sys.exit", 3}, {"raise", 1}, {"os._exit", 5}} {
			t.Run(tc.how, func(t *testing.T) {
				r := record(t, i, k, []string{file, tc.how, "7"}, nil, nil)
				if r.res.ExitCode != tc.status {
					t.Errorf("exit status %d, want %d", r.res.ExitCode, tc.status)
				}
				assertPaths(t, paths(r.res.Profile, "MainThread"), map[string]int64{"__main__.<module>;__main__.main;__main__.f": 7})
				if tc.how == "raise" && (!strings.Contains(r.stderr, "RuntimeError: uncaught on purpose") ||
					strings.Contains(r.stderr, "bootstrap") || strings.Contains(r.stderr, "runpy")) {
					t.Errorf("traceback should be the program's alone:\n%s", r.stderr)
				}
			})
		}
	})
}

// TestRecordSignalled: SIGINT and SIGTERM sent to pyprof reach the program,
// which ends with them, and the profile is still built.
func TestRecordSignalled(t *testing.T) {
	file := program("exits.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(sig.String(), func(t *testing.T) {
				signals := make(chan os.Signal, 1)
				pr, pw := io.Pipe()
				go func() {
					// Signal once the program says it is waiting.
					s := bufio.NewScanner(pr)
					for s.Scan() {
						if s.Text() == "ready" {
							signals <- sig
						}
					}
				}()
				r := record(t, i, k, []string{file, "sigint", "4"}, signals, pw)
				pw.Close()
				if r.res.Signaled != sig || r.res.ExitCode != 128+int(sig) {
					t.Errorf("ended with status %d signal %v, want %d and %v", r.res.ExitCode, r.res.Signaled, 128+int(sig), sig)
				}
				assertPaths(t, paths(r.res.Profile, "MainThread"), map[string]int64{"__main__.<module>;__main__.main;__main__.f": 4})
			})
		}
	})
}

func TestRecordToolIDTaken(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	i := interpreters[0]
	// A sitecustomize that takes the profiler id before pyprof's bootstrap.
	dir := t.TempDir()
	site := "import sys\nsys.monitoring.use_tool_id(2, 'other-profiler')\n"
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PYTHONPATH", dir)
	target, _ := ParseTarget([]string{"-c", "pass"}, true)
	_, err := Record(context.Background(), Options{Target: target, Python: i.Path, Agent: agent.Auto, ToolID: 2,
		RingBytes: 1 << 16, Slots: 2, Poll: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "'other-profiler'") || !strings.Contains(err.Error(), "--tool-id") {
		t.Fatalf("error %v, want one naming the owner and --tool-id", err)
	}
}

func TestRecordScale(t *testing.T) {
	file := program("scale.py")
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	for _, i := range interpreters {
		t.Run(i.VersionString(), func(t *testing.T) {
			t.Run("1000 threads started and ended", func(t *testing.T) {
				p := record(t, i, agent.C, []string{file, "threads", "1000"}, nil, nil).res.Profile
				workers := 0
				for _, th := range p.Threads {
					if strings.HasPrefix(th.Name, "t") {
						workers++
					}
				}
				var works int64
				for path, n := range paths(p, "") {
					if strings.HasSuffix(path, "__main__.work") {
						works += n
					}
				}
				if workers != 1000 || works != 1000 {
					t.Errorf("%d worker threads and %d calls of work, want 1000 each", workers, works)
				}
			})
			t.Run("recursion 50000 deep", func(t *testing.T) {
				p := record(t, i, agent.C, []string{file, "deep", "50000"}, nil, nil).res.Profile
				if got := calls(p); got[funcID(t, p, "__main__.down")] != 50001 {
					t.Errorf("down called %d times, want 50001", got[funcID(t, p, "__main__.down")])
				}
			})
			t.Run("100000 distinct functions", func(t *testing.T) {
				p := record(t, i, agent.C, []string{file, "funcs", "100000"}, nil, nil).res.Profile
				distinct := 0
				for id, n := range calls(p) {
					if p.Funcs[id].Filename == "generated.py" && strings.HasPrefix(p.Funcs[id].Name, "generated.f") && n == 1 {
						distinct++
					}
				}
				if distinct != 100000 {
					t.Errorf("%d generated functions called once, want 100000", distinct)
				}
			})
		})
	}
}

func funcID(t *testing.T, p *callgraph.Profile, name string) callgraph.FuncID {
	t.Helper()
	for id, f := range p.Funcs {
		if f.Name == name {
			return callgraph.FuncID(id)
		}
	}
	t.Fatalf("no function %s", name)
	return 0
}

// TestSampleIdle: with idle stacks dropped, a sleeping function keeps only
// the few samples that caught it entering or leaving its sleep.
func TestSampleIdle(t *testing.T) {
	file := program("cpusplit.py")
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	i := interpreters[0]
	idleSamples := func(idle bool) int64 {
		target, _ := ParseTarget([]string{file}, true)
		res, _, err := RecordSampled(context.Background(), Options{Target: target, Python: i.Path, Stdout: io.Discard, Stderr: io.Discard},
			SampleOptions{Rate: 200, Idle: idle})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for path := range paths(res.Profile, "") {
			if strings.HasSuffix(path, "__main__.idle") {
				n += findPath(t, res.Profile, strings.Split(path, ";")...).Total[callgraph.Samples]
			}
		}
		return n
	}
	with, without := idleSamples(true), idleSamples(false)
	if with < 10 || without*5 > with {
		t.Errorf("idle() sampled %d times keeping idle stacks, %d times dropping them", with, without)
	}
}

// TestRecordWorkloadsExactly checks exact call counts on the yardstick
// workloads, at small sizes. They are an input from outside the module: the
// folder shared/workloads beside the repository's root; without it the test
// is skipped.
func TestRecordWorkloadsExactly(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "shared", "workloads"))
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("yardstick workloads not found at %s: this test needs the folder shared/workloads beside the repository", dir)
	}
	sizes := map[string]string{"fib.py": "18", "cfuncs.py": "2000", "generators.py": "20000", "async_tasks.py": "200",
		"threads.py": "20000", "exceptions.py": "1000", "stdlib_mix.py": "300"}
	files, _ := filepath.Glob(filepath.Join(dir, "*.py"))
	if len(files) == 0 {
		t.Fatalf("no workloads in %s", dir)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		for _, file := range files {
			size := sizes[filepath.Base(file)]
			if size == "" {
				size = "1"
			}
			t.Run(filepath.Base(file), func(t *testing.T) {
				p := record(t, i, k, []string{file, size}, nil, nil).res.Profile
				assertExactCounts(t, p, referenceCounts(t, i, file, size), file)
			})
		}
	})
}

// TestRecordSubprocesses follows the children of a program: a forked
// child, multiprocessing pools of each start method, and a new
// interpreter. The children's calls are exact and only in threads labelled
// with the pid of a child that made them; the program's own threads have
// PID 0.
func TestRecordSubprocesses(t *testing.T) {
	file := program("children.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		for _, tc := range []struct {
			mode  string
			calls map[string]int64 // over every child
		}{
			// The child's own thread records in the child's rings too.
			{"fork", map[string]int64{"__main__.child_work": 5, "__main__.thread_work": 1}},
			{"pool-fork", map[string]int64{"__main__.square": 3}},
			// A new interpreter runs the program as __mp_main__ to find
			// square, whose module that is.
			{"pool-spawn", map[string]int64{"__mp_main__.square": 3}},
			// The workers are children of the fork server, itself a new
			// interpreter: grandchildren are followed too.
			{"pool-forkserver", map[string]int64{"__mp_main__.square": 3}},
			// child.py, a script of its own, is __main__ too: its
			// <module> is checked below, in the child only.
			{"run", map[string]int64{"__main__.work": 1, "__main__.leaf": 4}},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				r := recordWith(t, i, k, []string{file, tc.mode}, func(o *Options) { o.Subprocesses = true })
				p := r.res.Profile
				children := childPIDs(t, r.stdout)
				got := map[string]int64{}
				for _, th := range p.Threads {
					for name, n := range threadCalls(p, th) {
						if _, want := tc.calls[name]; want {
							if !children[th.PID] {
								t.Errorf("%s called in thread %s of pid %d, not a child that ran it (%v)", name, th.Name, th.PID, children)
							}
							got[name] += n
						}
						if name == "__main__.parent_work" && (th.PID != 0 || n != 3) {
							t.Errorf("parent_work called %d times in pid %d", n, th.PID)
						}
					}
				}
				for name, want := range tc.calls {
					if got[name] != want {
						t.Errorf("%s: %d calls in the children, want %d", name, got[name], want)
					}
				}
				if tc.mode == "fork" {
					assertChildThread(t, p, children, "child-thread")
				}
				if st := r.res.Stats; st.Children < len(children) || st.ChildrenRunning != 0 {
					t.Errorf("followed %d children (%d still running at the end), want at least %d and none running", st.Children, st.ChildrenRunning, len(children))
				}
				assertNoStartupFrames(t, p)
				if tc.mode == "run" {
					assertChildStartsAtModule(t, p, children, "__main__.<module>")
					assertChildWall(t, p, children)
				}
			})
		}
	})
}

// TestRecordSubprocessOnOtherPython: a child running another Python than
// the C agent was built for records with the pure-Python agent, whose
// clock (CLOCK_MONOTONIC) is not the parent's TSC: its calls are exact and
// its times right all the same.
func TestRecordSubprocessOnOtherPython(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) < 2 {
		t.Skip("one Python 3.12+ here: no other version for a child")
	}
	parent, other := interpreters[0], interpreters[1]
	r := recordWith(t, parent, agent.C, []string{program("children.py"), "run", other.Path}, func(o *Options) { o.Subprocesses = true })
	p := r.res.Profile
	children := childPIDs(t, r.stdout)
	got := map[string]int64{}
	for _, th := range p.Threads {
		if children[th.PID] {
			for name, n := range threadCalls(p, th) {
				got[name] += n
			}
		}
	}
	if got["__main__.work"] != 1 || got["__main__.leaf"] != 4 {
		t.Errorf("child calls %v, want work 1 and leaf 4", got)
	}
	assertChildStartsAtModule(t, p, children, "__main__.<module>")
	assertChildWall(t, p, children)
}

// TestRecordSubprocessOutlivingTheProgram: a child still running when the
// program exits is drained for a second, then written as it is.
func TestRecordSubprocessOutlivingTheProgram(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	started := time.Now()
	r := recordWith(t, interpreters[0], agent.C, []string{program("children.py"), "linger"}, func(o *Options) { o.Subprocesses = true })
	took := time.Since(started)
	children := childPIDs(t, r.stdout)
	for pid := range children {
		syscall.Kill(int(pid), syscall.SIGKILL)
	}
	if st := r.res.Stats; st.Children != 1 || st.ChildrenRunning != 1 {
		t.Errorf("followed %d children, %d still running at the end; want 1 and 1", st.Children, st.ChildrenRunning)
	}
	if took > 10*time.Second {
		t.Errorf("recording took %v: it waited for the child", took)
	}
	var calls int64
	for _, th := range r.res.Profile.Threads {
		if children[th.PID] {
			calls += threadCalls(r.res.Profile, th)["__main__.child_work"]
		}
	}
	if calls != 2 {
		t.Errorf("child_work called %d times in the child, want 2", calls)
	}
}

// assertChildThread checks that a child has a thread of that name.
func assertChildThread(t *testing.T, p *callgraph.Profile, pids map[int64]bool, name string) {
	t.Helper()
	for _, th := range p.Threads {
		if pids[th.PID] && th.Name == name {
			return
		}
	}
	t.Errorf("no thread %s in the children %v", name, pids)
}

// assertChildWall checks that child.work, which sleeps 50ms, lasted that
// long in the child's threads, and not longer than the recording.
func assertChildWall(t *testing.T, p *callgraph.Profile, pids map[int64]bool) {
	t.Helper()
	var wall int64
	for _, th := range p.Threads {
		if !pids[th.PID] {
			continue
		}
		th.Root.Walk(func(path []*callgraph.Node) {
			if n := path[len(path)-1]; p.Funcs[n.Func].Name == "__main__.work" {
				wall += n.Total[callgraph.Wall]
			}
		})
	}
	if wall < int64(50*time.Millisecond) || wall > int64(p.Duration) {
		t.Errorf("__main__.work lasted %v, want 50ms or a little more (the recording took %v)", time.Duration(wall), p.Duration)
	}
}

// childPIDs reads the "child PID" lines the test programs print.
func childPIDs(t *testing.T, stdout string) map[int64]bool {
	t.Helper()
	pids := map[int64]bool{}
	for _, line := range strings.Split(stdout, "\n") {
		var pid int64
		if _, err := fmt.Sscanf(line, "child %d", &pid); err == nil {
			if pid == 0 {
				t.Fatalf("a child printed pid 0")
			}
			pids[pid] = true
		}
	}
	if len(pids) == 0 {
		t.Fatalf("no child printed its pid:\n%s", stdout)
	}
	return pids
}

// threadCalls sums the calls of each function in one thread.
func threadCalls(p *callgraph.Profile, th *callgraph.Thread) map[string]int64 {
	out := map[string]int64{}
	th.Root.Walk(func(path []*callgraph.Node) {
		n := path[len(path)-1]
		out[p.Funcs[n.Func].Name] += n.Total[callgraph.Calls]
	})
	return out
}

// assertChildStartsAtModule checks that the main thread of each child in
// pids starts at module, its program's first frame, with nothing of the
// interpreter's start-up before it.
func assertChildStartsAtModule(t *testing.T, p *callgraph.Profile, pids map[int64]bool, module string) {
	t.Helper()
	for _, th := range p.Threads {
		if !pids[th.PID] || th.Name != "MainThread" {
			continue
		}
		if first := p.Funcs[th.Root.Children[0].Func].Name; first != module {
			var roots []string
			for _, c := range th.Root.Children {
				roots = append(roots, p.Funcs[c.Func].Name)
			}
			t.Errorf("child %d's main thread starts at %s, want %s (roots %v)", th.PID, first, module, roots)
		}
	}
}

// TestProgramSeesPythonAsTyped runs `NAME -X dev -c CODE arg` with NAME a
// bare python3.N found on PATH, plainly and under pyprof in each mode: the
// program sees the same sys.orig_argv and finds the same sys.executable,
// since pyprof starts the interpreter under the name typed, as a shell does.
func TestProgramSeesPythonAsTyped(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	code := "import sys; print(sys.orig_argv, sys.executable)"
	words := []string{"-X", "dev", "-c", code, "arg"}
	for _, i := range interpreters {
		name := filepath.Base(i.Executable)
		for _, mode := range []string{"trace", "sample"} {
			t.Run(i.VersionString()+"/"+mode, func(t *testing.T) {
				t.Setenv("PATH", filepath.Dir(i.Executable)+string(os.PathListSeparator)+os.Getenv("PATH"))
				plain, err := exec.Command(name, words...).Output()
				if err != nil {
					t.Fatalf("%s %v: %v", name, words, err)
				}
				target, err := ParseTarget(append([]string{name}, words...), false)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				o := Options{Target: target, Agent: agent.Python, ToolID: 2, RingBytes: 1 << 20, Slots: 4,
					Poll: time.Millisecond, Stdout: &out, Stderr: io.Discard}
				if mode == "trace" {
					_, err = Record(context.Background(), o)
				} else {
					_, _, err = RecordSampled(context.Background(), o, SampleOptions{Rate: 100})
				}
				if err != nil {
					t.Fatal(err)
				}
				if out.String() != string(plain) {
					t.Errorf("under pyprof the program printed\n%s\nplainly\n%s", out.String(), plain)
				}
			})
		}
	}
}
