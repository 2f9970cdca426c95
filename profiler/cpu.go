package profiler

import (
	"github.com/pyprof/pyprof/profiler/sample"
)

// cpuClocks reads the on-CPU time and the state of the program's threads
// from /proc (sample.TaskStates), from outside the program: measuring CPU
// time costs the program nothing, and no clock is read per event.
type cpuClocks struct {
	tasks *sample.TaskStates
	last  map[int64]int64
}

func newCPUClocks(pid int) *cpuClocks {
	return &cpuClocks{tasks: sample.NewTaskStates(pid), last: map[int64]int64{}}
}

// delta returns the CPU time thread tid used since the previous call and
// whether it is on CPU (running or runnable) now; the first call for a
// thread sets the baseline and returns 0. ok is false when the thread's
// CPU time cannot be read (it is gone).
func (c *cpuClocks) delta(tid int64) (ns int64, onCPU, ok bool) {
	onCPU, cpu := c.tasks.Read(tid)
	if cpu <= 0 {
		return 0, false, false
	}
	now := int64(cpu)
	prev, seen := c.last[tid]
	c.last[tid] = now
	if !seen {
		return 0, onCPU, true
	}
	return now - prev, onCPU, true
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
