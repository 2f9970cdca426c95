package profiler

import (
	"github.com/pyprof/pyprof/profiler/sample"
)

// cpuClocks reads the on-CPU time and the state of the program's threads
// from /proc (sample.TaskStates), from outside the program: measuring CPU
// time costs the program nothing, and no clock is read per event.
type cpuClocks struct {
	tasks *sample.TaskStates
	last  map[int64]cpuReading
	// round counts the samplings, for due.
	round int64
}

// cpuReading is what the last reading of a thread's clock found.
type cpuReading struct {
	cpu   int64
	onCPU bool
	// events is how many events the thread's ring had carried then, and
	// round the sampling it was read at.
	events, round int64
}

// idleRounds is how many samplings the clock of a thread that sleeps on
// one path may go unread: a second at the default rate. A thousand such
// threads then cost ten readings a sampling.
const idleRounds = 100

func newCPUClocks(pid int) *cpuClocks {
	return &cpuClocks{tasks: sample.NewTaskStates(pid), last: map[int64]cpuReading{}}
}

// nextRound starts a sampling of every thread.
func (c *cpuClocks) nextRound() { c.round++ }

// due tells whether thread tid's clock is worth reading in this sampling,
// its ring having carried events events so far. A reading costs two reads
// of /proc, 25 us here: a hundred times a second for each of a thousand
// threads parked in a pool, more than a core. A thread that was off CPU at
// its last reading and has raised no event since is still on the path it
// was on then, so the CPU time it used since (none, unless it woke in
// native code that runs without raising events) goes to that path whenever
// its clock is read: it is read every idleRounds samplings, not each. What
// such a thread runs after it wakes and before its first event, if it
// raises one before it is read, goes to the path of that event, as the
// time before a reading goes to the path seen at the reading (with
// --native-calls a woken thread raises C_RETURN at once).
func (c *cpuClocks) due(tid, events int64) bool {
	r, seen := c.last[tid]
	return !seen || r.onCPU || r.events != events || c.round-r.round >= idleRounds
}

// delta returns the CPU time thread tid used since the previous call and
// whether it is on CPU (running or runnable) now; the first call for a
// thread sets the baseline and returns 0. ok is false when the thread's
// CPU time cannot be read (it is gone). events is how many events its
// ring has carried so far (see due).
func (c *cpuClocks) delta(tid, events int64) (ns int64, onCPU, ok bool) {
	onCPU, cpu := c.tasks.Read(tid)
	if cpu <= 0 {
		return 0, false, false
	}
	now := int64(cpu)
	prev, seen := c.last[tid]
	c.last[tid] = cpuReading{cpu: now, onCPU: onCPU, events: events, round: c.round}
	if !seen {
		return 0, onCPU, true
	}
	return now - prev.cpu, onCPU, true
}

// forget closes a thread's files once it has ended.
func (c *cpuClocks) forget(tid int64) {
	c.tasks.Forget(tid)
	delete(c.last, tid)
}

// close closes every file; a nil cpuClocks (no CPU time measured) has none.
func (c *cpuClocks) close() {
	if c == nil {
		return
	}
	c.tasks.Close()
}
