package profiler

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// cpuClocks reads the on-CPU time of the program's threads from
// /proc/PID/task/TID/schedstat (its first field: nanoseconds on CPU), from
// outside the program: measuring CPU time costs the program nothing, and
// no clock is read per event.
type cpuClocks struct {
	pid   int
	files map[int64]*os.File
	last  map[int64]int64
	buf   []byte
}

func newCPUClocks(pid int) *cpuClocks {
	return &cpuClocks{pid: pid, files: map[int64]*os.File{}, last: map[int64]int64{}, buf: make([]byte, 128)}
}

// delta returns the CPU time thread tid used since the previous call; the
// first call for a thread sets the baseline and returns 0. ok is false
// when the thread is gone.
func (c *cpuClocks) delta(tid int64) (ns int64, ok bool) {
	f := c.files[tid]
	if f == nil {
		var err error
		f, err = os.Open(fmt.Sprintf("/proc/%d/task/%d/schedstat", c.pid, tid))
		if err != nil {
			return 0, false
		}
		c.files[tid] = f
	}
	n, err := f.ReadAt(c.buf, 0)
	if n == 0 && err != nil {
		c.forget(tid)
		return 0, false
	}
	field, _, _ := bytes.Cut(c.buf[:n], []byte(" "))
	now, err := strconv.ParseInt(string(field), 10, 64)
	if err != nil {
		return 0, false
	}
	prev, seen := c.last[tid]
	c.last[tid] = now
	if !seen {
		return 0, true
	}
	return now - prev, true
}

// forget closes a thread's file once it has ended.
func (c *cpuClocks) forget(tid int64) {
	if f := c.files[tid]; f != nil {
		f.Close()
	}
	delete(c.files, tid)
	delete(c.last, tid)
}

// close closes every file; a nil cpuClocks (no CPU time measured) has none.
func (c *cpuClocks) close() {
	if c == nil {
		return
	}
	for tid := range c.files {
		c.forget(tid)
	}
}
