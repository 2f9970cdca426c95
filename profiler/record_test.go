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
	target, err := ParseTarget(words, true)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if stdout == nil {
		stdout = &out
	}
	res, err := Record(context.Background(), Options{
		Target: target, Python: i.Path, Agent: k, ToolID: 2, RingBytes: 1 << 20, Slots: 16, // few slots: recycling is exercised
		Poll: time.Millisecond, Signals: signals, Stdout: stdout, Stderr: &errb,
		Notice: func(msg string) { t.Log(msg) },
	})
	if err != nil {
		t.Fatalf("recording %v: %v\nstderr: %s", words, err, errb.String())
	}
	if res.Agent.Kind != k {
		t.Fatalf("asked for the %s agent, got %s (%s)", k, res.Agent.Kind, res.Agent.Warning)
	}
	// The bootstrap's own two frames were running before monitoring began:
	// their leaves are the only ones that may match no enter.
	if res.Stats.DecodeErrors != 0 || res.Stats.Lost != 0 || res.Stats.Mismatched > 2 {
		t.Fatalf("stats %+v", res.Stats)
	}
	return recording{res: res, stdout: out.String(), stderr: errb.String()}
}

// funcKey identifies a Python function the way the reference counter does.
type funcKey struct {
	qualname, file string
	line           int
}

// referenceCounts runs program under testdata/refcount.py: PY_START events
// per code object, counted by sys.monitoring with nothing of pyprof loaded.
func referenceCounts(t *testing.T, i *agent.Interpreter, words ...string) map[funcKey]int64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "counts.json")
	ref, _ := filepath.Abs(filepath.Join("..", "testdata", "refcount.py"))
	cmd := exec.Command(i.Path, append([]string{ref, out}, words...)...)
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
		counts[funcKey{r[0].(string), r[1].(string), int(r[2].(float64))}] = int64(r[3].(float64))
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
	got := calls(p)
	checked := 0
	for key, want := range ref {
		if key.file != file {
			continue
		}
		checked++
		var have int64
		name := callgraph.PythonFuncName(key.file, key.qualname)
		for id, n := range got {
			f := p.Funcs[id]
			if f.Name == name && f.Filename == key.file && f.StartLine == key.line {
				have += n
			}
		}
		if have != want {
			t.Errorf("%s (line %d): pyprof counted %d calls, sys.monitoring raised %d PY_START", name, key.line, have, want)
		}
	}
	if checked < 2 { // at least the module and one function: the reference ran
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
		m := "calls.<module>;calls.main;"
		assertPaths(t, paths(p, "MainThread"), map[string]int64{
			"calls.<module>":          1,
			m + "calls.fib":           1,
			m + "calls.fib;calls.fib": 2,
			// A class is called natively and named by its __module__.
			m + "__main__.Point":                      10,
			m + "__main__.Point;calls.Point.__init__": 10,
			// sum() drives the generator: the first resumption is its start.
			m + "builtins.sum;calls.delegate":           1,
			m + "builtins.sum;calls.delegate;calls.gen": 1,
			m + "calls.catch;calls.deep;calls.deep;calls.deep;calls.deep;calls.deep;calls.deep;builtins.ValueError": 3,
			m + "calls.keyed;builtins.sorted;calls.keyed.<locals>.<lambda>":                                         20,
			m + "calls.Point.norm": 4,
			m + "builtins.sum;calls.main.<locals>.<genexpr>;calls.Point.norm": 10,
		})
		// The caller's frame carries the line it called from.
		main := findPath(t, p, "calls.<module>", "calls.main", "calls.fib")
		if want := lineOf(t, file, "    fib(15)"); main.CallLine != want {
			t.Errorf("main calls fib from line %d, want %d", main.CallLine, want)
		}
		assertNoStartupFrames(t, p)
	})
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
			strings.Contains(f.Filename, "twin-") || strings.Contains(f.Name, "_pyprof_agent") {
			t.Errorf("start-up frame in the profile: %s (%s)", f.Name, f.Filename)
		}
	}
	for _, th := range p.Threads {
		if th.Name == "MainThread" {
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
		entry := "threading.Thread._bootstrap;threading.Thread._bootstrap_inner;threading.Thread.run;threads.worker"
		for w := 0; w < 3; w++ {
			name := fmt.Sprintf("worker-%d", w)
			assertPaths(t, paths(p, name), map[string]int64{
				entry:                   1,
				entry + ";threads.work": int64(w + 1),
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
			if strings.HasSuffix(path, "coroutines.leaf") {
				leafCalls += n
				if strings.HasSuffix(path, "coroutines.middle;coroutines.leaf") {
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
				assertPaths(t, paths(r.res.Profile, "MainThread"), map[string]int64{"exits.<module>;exits.main;exits.f": 7})
				if tc.how == "raise" && (!strings.Contains(r.stderr, "RuntimeError: uncaught on purpose") ||
					strings.Contains(r.stderr, "bootstrap") || strings.Contains(r.stderr, "runpy")) {
					t.Errorf("traceback should be the program's alone:\n%s", r.stderr)
				}
			})
		}
	})
}

func TestRecordInterrupted(t *testing.T) {
	file := program("exits.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		signals := make(chan os.Signal, 1)
		pr, pw := io.Pipe()
		go func() {
			// Interrupt once the program says it is waiting.
			s := bufio.NewScanner(pr)
			for s.Scan() {
				if s.Text() == "ready" {
					signals <- syscall.SIGINT
				}
			}
		}()
		r := record(t, i, k, []string{file, "sigint", "4"}, signals, pw)
		pw.Close()
		if r.res.Signaled != syscall.SIGINT || r.res.ExitCode != 130 {
			t.Errorf("ended with status %d signal %v, want 130 and SIGINT", r.res.ExitCode, r.res.Signaled)
		}
		assertPaths(t, paths(r.res.Profile, "MainThread"), map[string]int64{"exits.<module>;exits.main;exits.f": 4})
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
					if strings.HasSuffix(path, "scale.work") {
						works += n
					}
				}
				if workers != 1000 || works != 1000 {
					t.Errorf("%d worker threads and %d calls of work, want 1000 each", workers, works)
				}
			})
			t.Run("recursion 50000 deep", func(t *testing.T) {
				p := record(t, i, agent.C, []string{file, "deep", "50000"}, nil, nil).res.Profile
				if got := calls(p); got[funcID(t, p, "scale.down")] != 50001 {
					t.Errorf("down called %d times, want 50001", got[funcID(t, p, "scale.down")])
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

// TestTraceAccuracy: wall time is exact in trace mode and CPU time, read
// from outside at 1 kHz, is charged to the right functions: each within 2%
// of what the program measured itself (plus 2 ms, about two readings).
// CPU attribution needs the reader to run on time; on a saturated machine
// it runs late, so a run may be repeated, up to three: a real error fails
// every run.
func TestTraceAccuracy(t *testing.T) {
	file := program("cpusplit.py")
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	for _, i := range interpreters {
		t.Run(i.VersionString(), func(t *testing.T) {
			var errs []string
			for try := 1; try <= 3; try++ {
				if errs = traceAccuracyErrors(t, i, file); len(errs) == 0 {
					return
				}
				t.Logf("try %d: %s", try, strings.Join(errs, "; "))
			}
			t.Error(strings.Join(errs, "\n"))
		})
	}
}

// traceAccuracyErrors records cpusplit.py once and lists what is off.
func traceAccuracyErrors(t *testing.T, i *agent.Interpreter, file string) []string {
	t.Helper()
	target, _ := ParseTarget([]string{file, "1.5"}, true)
	var out bytes.Buffer
	res, err := Record(context.Background(), Options{Target: target, Python: i.Path, Agent: agent.C, ToolID: 2,
		RingBytes: 1 << 20, Slots: 4, Poll: time.Millisecond, CPURate: 1000, Stdout: &out, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	var truth map[string]struct{ Wall, CPU float64 }
	if err := json.Unmarshal(out.Bytes(), &truth); err != nil {
		t.Fatalf("program output %q: %v", out.String(), err)
	}
	p := res.Profile
	if !p.Has(callgraph.CPU) {
		t.Fatal("profile has no cpu values")
	}
	var errs []string
	for name, want := range truth {
		n := findPath(t, p, "cpusplit.<module>", "cpusplit.main", "cpusplit."+name)
		gotWall := float64(n.Total[callgraph.Wall]) / 1e9
		gotCPU := float64(n.Total[callgraph.CPU]) / 1e9
		if diff := gotWall - want.Wall; diff > 0.02*want.Wall || diff < -0.02*want.Wall {
			errs = append(errs, fmt.Sprintf("%s: wall %.4fs, program measured %.4fs", name, gotWall, want.Wall))
		}
		if diff := gotCPU - want.CPU; diff > 0.02*want.CPU+0.002 || diff < -0.02*want.CPU-0.002 {
			errs = append(errs, fmt.Sprintf("%s: cpu %.4fs, program measured %.4fs", name, gotCPU, want.CPU))
		}
	}
	return errs
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
			if strings.HasSuffix(path, "cpusplit.idle") {
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
// workloads in ../shared/workloads (beside the repository, as on every
// machine of this project), at small sizes.
func TestRecordWorkloadsExactly(t *testing.T) {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "shared", "workloads"))
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no shared workloads at %s", dir)
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
