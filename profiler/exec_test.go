package profiler

import (
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
