package sample

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// followEvery is how often the process tree is searched for new children;
// a child that lives shorter than this may be missed.
const followEvery = 50 * time.Millisecond

// attachPatience is how long a new child may take to become a readable
// CPython (a fork that will exec it, an interpreter still starting).
const attachPatience = 2 * time.Second

// family is the set of processes a Run samples: the one it was given, and,
// when following, every Python 3.12+ descendant, found through
// /proc/PID/task/TID/children (children of non-Python processes too, so a
// shell between two Pythons is crossed).
type family struct {
	root     *Process
	follow   bool
	children map[int]*Process  // attached descendants
	pending  map[int]time.Time // seen, not readable yet: first seen at
	ignored  map[int]bool      // not Python 3.12+, or gone
	attached int               // children attached so far, gone ones too
	lastScan time.Time
}

func newFamily(root *Process, follow bool) *family {
	return &family{root: root, follow: follow, children: map[int]*Process{}, pending: map[int]time.Time{}, ignored: map[int]bool{}}
}

// scan looks for new descendants now and then, and attaches the readable
// ones.
func (f *family) scan(now time.Time) {
	if !f.follow || now.Sub(f.lastScan) < followEvery {
		return
	}
	f.lastScan = now
	for _, pid := range descendants(f.root.pid) {
		if f.children[pid] != nil || f.ignored[pid] {
			continue
		}
		p, err := Attach(pid)
		if err == nil {
			f.children[pid] = p
			f.attached++
			delete(f.pending, pid)
			continue
		}
		first, seen := f.pending[pid]
		if !seen {
			f.pending[pid] = now
			continue
		}
		var old *UnsupportedVersionError
		if errors.As(err, &old) || now.Sub(first) > attachPatience {
			f.ignored[pid] = true
			delete(f.pending, pid)
		}
	}
}

// drop forgets a child that exited.
func (f *family) drop(pid int) {
	if p := f.children[pid]; p != nil {
		p.Close()
	}
	delete(f.children, pid)
	f.ignored[pid] = true
}

func (f *family) close() {
	for pid := range f.children {
		f.drop(pid)
	}
}

// descendants lists every descendant of pid, breadth first.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range childrenOf(p) {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// childrenOf reads the children of every thread of pid.
func childrenOf(pid int) []int {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(field); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
