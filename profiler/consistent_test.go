package profiler

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
)

// mixedProgram runs threads that spin, sleep and make many calls each far
// shorter than a sampling period, some of them leaves when the thread's
// clock is read.
const mixedProgram = `import threading
import time
import traceback


def tiny(i):
    return i * 2


def many_short():
    for i in range(5000):
        tiny(i)
    traceback.extract_stack()


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def nap(seconds):
    time.sleep(seconds)


def worker(rounds):
    for _ in range(rounds):
        spin(0.02)
        nap(0.02)
        many_short()


threads = [threading.Thread(target=worker, args=(8,), name=f"worker-{k}") for k in range(3)]
for t in threads:
    t.start()
worker(8)
for t in threads:
    t.join()
`

// TestRecordCPUWithinWall records threads that spin, sleep and make short
// calls in trace mode (CPU read from the threads' clocks) and hybrid mode
// (CPU and GIL sampled) and checks, per function, that neither CPU nor GIL
// time exceeds wall time, inclusive or the function's own.
func TestRecordCPUWithinWall(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mixed.py")
	if err := os.WriteFile(file, []byte(mixedProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		target, err := ParseTarget([]string{file}, true)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Target: target, Python: i.Path, Agent: k, ToolID: 2, RingBytes: 1 << 20, Slots: 16,
			Poll: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard}
		t.Run("trace", func(t *testing.T) {
			o := o
			o.CPURate = 500
			res, err := Record(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			assertWithinWall(t, res.Profile, callgraph.CPU)
		})
		t.Run("hybrid", func(t *testing.T) {
			res, _, err := RecordHybrid(context.Background(), o, SampleOptions{Rate: 200, Idle: true})
			if err != nil {
				t.Fatal(err)
			}
			assertWithinWall(t, res.Profile, callgraph.CPU)
			if res.Profile.Has(callgraph.GIL) {
				assertWithinWall(t, res.Profile, callgraph.GIL)
			}
		})
	})
}

// assertWithinWall checks that value v of every function, summed over its
// nodes, is at most its wall time: the inclusive sum over the nodes not
// inside another call of the same function (what pprof shows as cum), and
// the sum of own times (flat). It fails when v was not measured at all.
func assertWithinWall(t *testing.T, p *callgraph.Profile, v callgraph.Value) {
	t.Helper()
	if !p.Has(v) {
		t.Fatalf("the profile has no %s values (%v)", v.Info().Type, p.Values)
	}
	type sums struct{ cum, flat [callgraph.NumValues]int64 }
	by := map[callgraph.FuncID]*sums{}
	var total int64
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			s := by[n.Func]
			if s == nil {
				s = &sums{}
				by[n.Func] = s
			}
			nested := false
			for _, a := range path[:len(path)-1] {
				nested = nested || a.Func == n.Func
			}
			for _, x := range []callgraph.Value{callgraph.Wall, v} {
				if !nested {
					s.cum[x] += n.Total[x]
				}
				s.flat[x] += n.Self(x)
			}
			total += n.Self(v)
		})
	}
	if total == 0 {
		t.Fatalf("no %s time in the profile", v.Info().Type)
	}
	for id, s := range by {
		name := p.Funcs[id].Name
		if s.cum[v] > s.cum[callgraph.Wall] {
			t.Errorf("%s: %s %v over wall %v", name, v.Info().Type, time.Duration(s.cum[v]), time.Duration(s.cum[callgraph.Wall]))
		}
		if s.flat[v] > s.flat[callgraph.Wall] {
			t.Errorf("%s: own %s %v over own wall %v", name, v.Info().Type, time.Duration(s.flat[v]), time.Duration(s.flat[callgraph.Wall]))
		}
	}
}
