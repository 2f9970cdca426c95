package sample

import (
	"bytes"
	"fmt"
	"os"
)

// taskStates tells whether threads of a process are on CPU, from the state
// letter of /proc/PID/task/TID/stat. It keeps each file open and re-reads
// it with pread at offset 0 (the kernel regenerates the text on every read
// from the start), one syscall per thread per sample instead of three.
type taskStates struct {
	pid   int
	files map[int64]*os.File
	buf   [512]byte
}

func newTaskStates(pid int) *taskStates {
	return &taskStates{pid: pid, files: map[int64]*os.File{}}
}

// onCPU reports whether thread tid is running or runnable ('R'). A thread
// that cannot be read (it just ended) is reported idle.
func (t *taskStates) onCPU(tid int64) bool {
	f, err := t.open(tid)
	if err != nil {
		return false
	}
	n, err := f.ReadAt(t.buf[:], 0)
	if n == 0 && err != nil {
		f.Close()
		delete(t.files, tid)
		return false
	}
	return statState(t.buf[:n]) == 'R'
}

func (t *taskStates) open(tid int64) (*os.File, error) {
	if f, ok := t.files[tid]; ok {
		return f, nil
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/task/%d/stat", t.pid, tid))
	if err != nil {
		return nil, err
	}
	t.files[tid] = f
	return f, nil
}

// retain closes the files of threads not in live, so that a long recording
// of a program that starts many threads keeps few files open.
func (t *taskStates) retain(live map[int64]bool) {
	for tid, f := range t.files {
		if !live[tid] {
			f.Close()
			delete(t.files, tid)
		}
	}
}

func (t *taskStates) close() {
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
