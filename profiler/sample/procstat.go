package sample

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// taskFiles are the open /proc files of one thread, as descriptors; sched
// is -1 where the kernel has no schedstat.
type taskFiles struct {
	stat, sched int
}

// TaskStates reads, per thread of a process, whether it is on CPU (the
// state letter of /proc/PID/task/TID/stat) and how much CPU time it has
// used (the first field of .../schedstat, in nanoseconds: the scheduler's
// own sum of run time). It keeps the files open and re-reads them with
// pread at offset 0 (the kernel regenerates the text on every read from
// the start): one syscall per file per thread per sample. Trace mode reads
// threads' CPU time through it too, from outside the program.
type TaskStates struct {
	pid   int
	files map[int64]taskFiles
	buf   [512]byte
}

// NewTaskStates returns a reader of the threads of process pid.
func NewTaskStates(pid int) *TaskStates {
	return &TaskStates{pid: pid, files: map[int64]taskFiles{}}
}

// Read returns whether thread tid is running or runnable ('R') and its CPU
// time so far, 0 when unknown. A thread that cannot be read (it just ended)
// is reported idle.
func (t *TaskStates) Read(tid int64) (onCPU bool, cpu time.Duration) {
	c := t.ReadClocks(tid)
	return c.OnCPU, c.CPU
}

// TaskClocks is what the kernel says of one thread at one moment.
type TaskClocks struct {
	// OnCPU is set when the thread is running or runnable ('R').
	OnCPU bool
	// CPU is the time the thread has run since it started; Wait the time
	// it has waited, runnable, for a CPU. Both 0 when unknown.
	CPU, Wait time.Duration
}

// ReadClocks is Read with the time the thread waited for a CPU (the second
// field of schedstat) as well: running plus waiting is the time the thread
// wanted a CPU, the rest of the wall time it slept.
func (t *TaskStates) ReadClocks(tid int64) TaskClocks {
	f, err := t.open(tid)
	if err != nil {
		return TaskClocks{}
	}
	n := preadRaw(f.stat, t.buf[:])
	if n <= 0 {
		t.Forget(tid)
		return TaskClocks{}
	}
	c := TaskClocks{OnCPU: statState(t.buf[:n]) == 'R'}
	if f.sched >= 0 {
		n = max(preadRaw(f.sched, t.buf[:]), 0)
		c.CPU, c.Wait = schedTimes(t.buf[:n])
	}
	return c
}

func (t *TaskStates) open(tid int64) (taskFiles, error) {
	if f, ok := t.files[tid]; ok {
		return f, nil
	}
	dir := fmt.Sprintf("/proc/%d/task/%d/", t.pid, tid)
	stat, err := unix.Open(dir+"stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return taskFiles{}, err
	}
	// schedstat needs CONFIG_SCHED_INFO; without it CPU time is unknown.
	sched, err := unix.Open(dir+"schedstat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		sched = -1
	}
	f := taskFiles{stat, sched}
	t.files[tid] = f
	return f, nil
}

// Forget closes the files of thread tid, which has ended.
func (t *TaskStates) Forget(tid int64) {
	f, ok := t.files[tid]
	if !ok {
		return
	}
	unix.Close(f.stat)
	if f.sched >= 0 {
		unix.Close(f.sched)
	}
	delete(t.files, tid)
}

// retain closes the files of threads not in live, so that a long recording
// of a program that starts many threads keeps few files open.
func (t *TaskStates) retain(live map[int64]bool) {
	for tid := range t.files {
		if !live[tid] {
			t.Forget(tid)
		}
	}
}

// Close closes every file.
func (t *TaskStates) Close() {
	t.retain(nil)
}

// statState returns the state letter of a stat line "tid (comm) S ...".
// comm may hold spaces and parentheses, so the state is the first field
// after the last ')'.
func statState(line []byte) byte {
	i := bytes.LastIndexByte(line, ')')
	if i < 0 || i+2 >= len(line) {
		return 0
	}
	return line[i+2]
}

// schedTimes parses the run and wait times, in nanoseconds, that start a
// schedstat line "run_ns wait_ns timeslices"; 0 for what does not parse.
func schedTimes(line []byte) (run, wait time.Duration) {
	fields := bytes.Fields(line)
	if len(fields) < 2 {
		return 0, 0
	}
	r, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return 0, 0
	}
	w, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return time.Duration(r), 0
	}
	return time.Duration(r), time.Duration(w)
}

// preadRaw reads fd from offset 0 into buf and returns the count, or -1
// on an error. It makes the syscall without telling Go's scheduler, as
// RawSyscall does: a syscall made the usual way, while the process is
// otherwise idle, wakes the runtime's monitor thread, which then checks on
// the process every 20 µs until it is idle again. Trace mode reads these
// files 100 times a second in a loop that is otherwise idle; measured here,
// those checks were most of pyprof's context switches while a program
// slept. A read of a /proc file waits on nothing the program controls (at
// worst it drops the last hold on an exiting thread's memory), which is
// what a raw syscall needs.
func preadRaw(fd int, buf []byte) int {
	n, _, errno := unix.RawSyscall6(unix.SYS_PREAD64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
	if errno != 0 {
		return -1
	}
	return int(n)
}
