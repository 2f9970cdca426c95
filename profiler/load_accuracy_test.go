//go:build !race

package profiler

import (
	"context"
	"fmt"
	"io"
	"math"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
)

// hogNice is the priority of the CPU hogs: above the program's and the
// sampler's (0), as other work on a busy machine may be.
const hogNice = -10

// hogLimit bounds a hog's life should the test die without stopping it.
const hogLimit = 120 * time.Second

// startHogs starts one busy loop per CPU at priority hogNice and stops
// them at the end of the test. It skips the test when priorities cannot
// be raised (not root, no CAP_SYS_NICE).
func startHogs(t *testing.T, python string) {
	t.Helper()
	loop := fmt.Sprintf("import time\nend = time.monotonic() + %d\nwhile time.monotonic() < end: pass\n", int(hogLimit.Seconds()))
	for range runtime.NumCPU() {
		cmd := exec.Command(python, "-c", loop)
		// The hog dies with the test process, however that ends.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting a CPU hog: %v", err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		// A single-threaded process: its pid is its only thread's id, the
		// unit Linux sets priorities for.
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, hogNice); err != nil {
			t.Skipf("raising a CPU hog's priority to %d needs root or CAP_SYS_NICE: %v", hogNice, err)
		}
	}
}

// loadShares are the shares of busy_a, busy_b and asleep in one value.
type loadShares map[string]float64

var loadFuncs = []string{"busy_a", "busy_b", "asleep"}

// sharesOf returns each of loadFuncs' share of v, summed over every node of
// the function (traced and sampled nodes of one function are siblings).
// The script runs as __main__, but the match is on the qualified name's
// last part, so that the shares do not hang on how modules are named.
func sharesOf(t *testing.T, p *callgraph.Profile, v callgraph.Value) loadShares {
	t.Helper()
	sums := loadShares{}
	var total float64
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			name := p.Funcs[n.Func].Name
			name = name[strings.LastIndexByte(name, '.')+1:]
			if !isLoadFunc(name) {
				return
			}
			sums[name] += float64(n.Total[v])
			total += float64(n.Total[v])
		})
	}
	for _, name := range loadFuncs {
		if sums[name] == 0 {
			t.Fatalf("the profile's %s values have nothing for %s", v.Info().Type, name)
		}
		sums[name] /= total
	}
	return sums
}

func isLoadFunc(name string) bool {
	for _, f := range loadFuncs {
		if f == name {
			return true
		}
	}
	return false
}

// TestHybridUnderLoadAccuracy records loadsplit.py in hybrid mode while a
// busy loop of higher priority runs on every CPU, and checks that each
// function's share of the samples is within 3 points of its share of the
// traced wall time of the same run, in loadRuns runs in a row. The sampler
// then misses most ticks, and wakes more often while the program sleeps
// than while it runs: charging each gap to the sample that ends it gave the
// sleeping function up to 10 points too many.
func TestHybridUnderLoadAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("seconds of CPU hogs")
	}
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	i := interpreters[0]
	startHogs(t, i.Path)
	for run := 1; run <= loadRuns; run++ {
		if problems := loadSharesOff(t, i); len(problems) > 0 {
			t.Errorf("run %d of %d: %s", run, loadRuns, strings.Join(problems, "; "))
		}
	}
}

// loadRuns is how many runs in a row must each keep every share within 3
// points.
const loadRuns = 5

// loadSharesOff records loadsplit.py once in hybrid mode and lists the
// functions whose sampled and traced shares differ by more than 3 points.
func loadSharesOff(t *testing.T, i *agent.Interpreter) []string {
	t.Helper()
	target, err := ParseTarget([]string{program("loadsplit.py"), "16"}, true)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Target: target, Python: i.Path, Agent: agent.C, ToolID: 2, RingBytes: 1 << 20, Slots: 4,
		Poll: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard}
	res, st, err := RecordHybrid(context.Background(), o, SampleOptions{Rate: 200, Idle: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d samples, %d missed, %v unobserved", st.Samples, st.Missed, st.Unobserved)
	sampled, traced := sharesOf(t, res.Profile, callgraph.Samples), sharesOf(t, res.Profile, callgraph.Wall)
	var problems []string
	for _, name := range loadFuncs {
		t.Logf("%s: sampled %.3f, traced %.3f", name, sampled[name], traced[name])
		if d := sampled[name] - traced[name]; math.Abs(d) > 0.03 {
			problems = append(problems, fmt.Sprintf("%s: sampled share %.3f, traced wall share %.3f", name, sampled[name], traced[name]))
		}
	}
	return problems
}
