package profiler

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pyprof/pyprof/profiler/sample"
)

// Dump is every thread's Python stack in a running process at one moment.
type Dump struct {
	PID     int
	Version sample.Version
	// GIL is set when the interpreter has a GIL, so that a thread's HasGIL
	// means something.
	GIL bool
	// Threads lists the main thread, named "MainThread", then the others
	// by thread id, unnamed: CPython's thread states do not hold the names
	// threading gives them.
	Threads []sample.ThreadStack
}

// dumpPatience bounds how long DumpStacks reads a process again while a
// stack keeps moving: a busy thread moves within most reads of a deep
// stack, and a dump is asked for once, by a person waiting for it.
const dumpPatience = 200 * time.Millisecond

// DumpStacks reads every thread's stack of a running Python 3.12+ process
// from outside, with no agent and without stopping it: what it is doing
// now (a program that hangs, a server that is slow). A sample in which a
// stack moved while read is taken again, for up to dumpPatience, and the
// one with the fewest moved stacks is kept; a stack that never stood still
// holds only its outer frames and is marked Dropped.
func DumpStacks(pid int) (*Dump, error) {
	p, err := sample.Attach(pid)
	if err != nil {
		return nil, samplingError(err)
	}
	defer p.Close()
	var best *sample.Snapshot
	for start := time.Now(); best == nil || dropped(best) > 0 && time.Since(start) < dumpPatience; {
		s, err := p.Sample()
		switch {
		case errors.Is(err, sample.ErrInconsistent) && best != nil:
			continue // the loop ends on patience with what it has
		case errors.Is(err, sample.ErrInconsistent):
			if time.Since(start) > dumpPatience {
				return nil, fmt.Errorf("dumping pid %d: its threads kept changing for %v: %w", pid, dumpPatience, err)
			}
			continue
		case err != nil:
			return nil, samplingError(err)
		}
		if best == nil || dropped(s) < dropped(best) {
			best = s
		}
	}
	d := &Dump{PID: pid, Version: p.Version(), GIL: best.GIL, Threads: best.Threads}
	for i := range d.Threads {
		if d.Threads[i].TID == int64(pid) {
			d.Threads[i].Name = "MainThread"
		}
	}
	// The interpreter lists its newest thread first; a reader looks for
	// the main thread first, then the others as they were started.
	slices.SortStableFunc(d.Threads, func(a, b sample.ThreadStack) int {
		return cmp.Or(cmp.Compare(mainLast(a), mainLast(b)), cmp.Compare(a.TID, b.TID))
	})
	return d, nil
}

// mainLast is 0 for the main thread, 1 for the others.
func mainLast(t sample.ThreadStack) int {
	if t.Name == "MainThread" {
		return 0
	}
	return 1
}

// dropped counts the threads of s whose stack moved in every read.
func dropped(s *sample.Snapshot) int {
	n := 0
	for _, t := range s.Threads {
		if t.Dropped {
			n++
		}
	}
	return n
}
