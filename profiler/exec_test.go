package profiler

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
)

// execProgram runs a short stage, then replaces itself with a Python that
// spins for execSpin: none of that run is the exec call's.
const execProgram = `import os, sys, time
def stage():
    time.sleep(0.05)
stage()
os.execv(sys.executable, [sys.executable, "-c", "import time\nend = time.monotonic() + 0.3\nwhile time.monotonic() < end: pass"])
`

const execSpin = 300 * time.Millisecond

// TestRecordExecEndsTheCall: the program's os.execv ends where the exec
// replaced the program, in wall and CPU time, whether or not the exec'd
// Python is followed; followed, its run is its own process's.
func TestRecordExecEndsTheCall(t *testing.T) {
	file := filepath.Join(t.TempDir(), "execs.py")
	if err := os.WriteFile(file, []byte(execProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		for _, tc := range []struct {
			name   string
			follow bool
		}{
			{"not followed", false},
			{"followed", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := recordWith(t, i, k, []string{file}, func(o *Options) {
					o.Subprocesses = tc.follow
					o.CPURate = 100
				})
				p := r.res.Profile
				wall, cpu := execCallTime(t, p)
				// The exec itself takes a millisecond or so; the spin after
				// it is execSpin long.
				if limit := int64(execSpin / 3); wall > limit || cpu > limit {
					t.Errorf("posix.execv lasted %v (cpu %v), want the exec alone, far under the %v the new program ran",
						time.Duration(wall), time.Duration(cpu), execSpin)
				}
				if tc.follow {
					if spun := programWall(p, func(pid int64) bool { return pid != 0 }); spun < int64(execSpin) {
						t.Errorf("the exec'd program ran %v in its own process, want at least %v", time.Duration(spun), execSpin)
					}
				}
			})
		}
	})
}

// execCallTime adds up the wall and CPU time of posix.execv in the
// program's own threads.
func execCallTime(t *testing.T, p *callgraph.Profile) (wall, cpu int64) {
	t.Helper()
	found := false
	for _, th := range p.Threads {
		if th.PID != 0 {
			continue
		}
		th.Root.Walk(func(path []*callgraph.Node) {
			if n := path[len(path)-1]; p.Funcs[n.Func].Name == "posix.execv" {
				found = true
				wall += n.Total[callgraph.Wall]
				cpu += n.Total[callgraph.CPU]
			}
		})
	}
	if !found {
		t.Fatal("no posix.execv in the program's threads")
	}
	return wall, cpu
}

// programWall adds up the wall time at the roots of the threads of the
// processes that match.
func programWall(p *callgraph.Profile, match func(pid int64) bool) int64 {
	var wall int64
	for _, th := range p.Threads {
		if match(th.PID) {
			for _, root := range th.Root.Children {
				wall += root.Total[callgraph.Wall]
			}
		}
	}
	return wall
}

// failedExecProgram tries to exec a file that is not there, then spins
// for execSpin in after_failed.
const failedExecProgram = `import os, time
def after_failed():
    end = time.monotonic() + 0.3
    while time.monotonic() < end: pass
try:
    os.execv("/nonexistent/python", ["python"])
except OSError:
    pass
after_failed()
`

// TestHybridSamplesEndAtExec: in hybrid mode, where the trace ends at the
// program's exec (its exec'd Python not followed), so do the samples: the
// spin the exec'd program runs, at module level of its -c code, gets none.
// The sampler once attached to the exec'd Python and sampled it on, into
// a profile that said it ended at the exec; and a Python mapped at a fixed
// address (the standalone 3.14) went unnoticed as an exec at all. An exec
// that fails ends nothing: the spin after it is sampled.
func TestHybridSamplesEndAtExec(t *testing.T) {
	dir := t.TempDir()
	execs, fails := filepath.Join(dir, "execs.py"), filepath.Join(dir, "fails.py")
	for file, text := range map[string]string{execs: execProgram, fails: failedExecProgram} {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		if k != agent.C {
			t.Skip("the sampler reads the program alike whatever the agent: the C agent's run checks it")
		}
		// At 200 Hz the 300 ms spin takes ~60 samples, the 50 ms before the
		// exec ~10.
		p, st := recordHybridForTest(t, i, k, execs)
		if after := samplesUnder(p, func(f callgraph.Func) bool { return f.Filename == "<string>" }); after > 0 {
			t.Errorf("%d samples are of the exec'd program, which the profile says it ends before (sampling: %+v)", after, st)
		}
		if st.Samples > 40 {
			t.Errorf("%d samples counted, want the ~10 of the 50 ms before the exec", st.Samples)
		}
		p, st = recordHybridForTest(t, i, k, fails)
		if spun := samplesUnder(p, func(f callgraph.Func) bool { return f.Name == "__main__.after_failed" }); spun < 20 {
			t.Errorf("%d samples in the spin after a failed exec, want ~60 (sampling: %+v)", spun, st)
		}
	})
}

// recordHybridForTest records file in hybrid mode at 200 Hz.
func recordHybridForTest(t *testing.T, i *agent.Interpreter, k agent.Kind, file string) (*callgraph.Profile, SampleStats) {
	t.Helper()
	target, err := ParseTarget([]string{file}, true)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	o := Options{Target: target, Python: i.Path, Agent: k, ToolID: 2, RingBytes: 1 << 20, Slots: 16,
		Poll: time.Millisecond, Stdout: &out, Stderr: &errb}
	res, st, err := RecordHybrid(context.Background(), o, SampleOptions{Rate: 200, Idle: true})
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, errb.String())
	}
	return res.Profile, st
}

// samplesUnder counts the samples of p whose stacks hold a function that
// in accepts.
func samplesUnder(p *callgraph.Profile, in func(callgraph.Func) bool) int64 {
	var n int64
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			for _, m := range path {
				if in(p.Funcs[m.Func]) {
					n += path[len(path)-1].Self(callgraph.Samples)
					return
				}
			}
		})
	}
	return n
}
