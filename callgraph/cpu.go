package callgraph

import "math"

// ChargeCPU charges ns nanoseconds of on-CPU time, which the thread used
// since its previous reading, to the nodes that ran since then. The caller
// read the thread's CPU clock at tick (of the thread's process's clock;
// nanos on the monotonic clock) after bringing the thread's events up to
// that moment; onCPU says whether the thread is running or runnable now.
//
// No node gets more CPU time than it ran as the innermost frame since the
// previous reading (ran ticks, converted by the rate the two readings'
// clocks give), so that no function shows more CPU than wall time. Within
// that, the frame running at the reading comes first when the thread is on
// CPU now, and last when it sleeps now: a thread asleep has used its CPU
// time before it went to sleep, in the other frames, those of earlier
// periods whose CPU time its clock reports late included. A native frame
// found asleep more often than running comes last (see waits). The sampler
// follows the same rule between two samples (sample.Builder): a thread
// seen asleep gets none of a gap's CPU time while the end seen running
// has room for it. Charging the whole
// period to the frame seen at its end, as a CPU sampler does, put 15 ms on
// a function that ran 4 ms in all; charging a sleep right after a busy loop
// the loop's CPU gave time.sleep 20-46% of busy.py's CPU at --rate 500.
// What is left over, the clocks not quite agreeing, is counted as unplaced.
func (t *ThreadBuilder) ChargeCPU(ns int64, onCPU bool, tick, nanos int64) {
	t.advance(tick)
	scale := 0.0
	if t.cpuNanos != 0 && tick > t.cpuTick && nanos > t.cpuNanos {
		scale = float64(nanos-t.cpuNanos) / float64(tick-t.cpuTick)
	}
	t.cpuTick, t.cpuNanos = tick, nanos
	left := float64(max(ns, 0))
	top := t.parentNode()
	for _, n := range t.ran {
		n.cpuBefore = n.cpu
	}
	budget := func(n *bnode) float64 {
		if scale == 0 {
			return math.Inf(1)
		}
		return float64(n.ran) * scale
	}
	// Whole nanoseconds, rounded down, so that none goes over its budget.
	give := func(n *bnode, x float64) {
		whole := math.Floor(x)
		n.cpu += int64(whole)
		left -= whole
	}
	// A native frame found asleep more often than running waits there:
	// it comes last, also when the thread is found runnable in it, woken
	// and not yet running, which on a loaded machine can last a while;
	// what it did on CPU before it slept is small. Judged by the readings
	// before this one, which counts for the next.
	topFirst := onCPU && !top.waits()
	if top.key.native() {
		if onCPU {
			top.awake = min(top.awake+1, math.MaxInt32-1)
		} else {
			top.asleep = min(top.asleep+1, math.MaxInt32-1)
		}
	}
	topBudget := budget(top)
	if topFirst {
		x := min(left, topBudget)
		give(top, x)
		topBudget -= x
	}
	// shareRan shares out among the other nodes that ran, those that wait
	// or those that do not, in proportion to how long each ran.
	shareRan := func(waiting bool) {
		var others float64
		for _, n := range t.ran {
			if n != top && n.waits() == waiting {
				others += float64(n.ran)
			}
		}
		if others == 0 {
			return
		}
		share := left
		if scale != 0 {
			share = min(left, others*scale)
		}
		for _, n := range t.ran {
			if n != top && n.waits() == waiting {
				give(n, share*float64(n.ran)/others)
			}
		}
	}
	shareRan(false)
	// The scheduler brings a running thread's clock up to date only now
	// and then (at its ticks), so a reading may carry CPU time used in
	// earlier periods that got less than they ran: the newest of those
	// take it first, as far as they had room. They ran before the frame
	// a sleeping thread sleeps in, which comes after them.
	late := func() {
		for i := len(t.spare) - 1; i >= 0 && left >= 1; i-- {
			x := math.Floor(min(left, float64(t.spare[i].room)))
			t.spare[i].node.cpu += int64(x)
			t.spare[i].room -= int64(x)
			left -= x
		}
	}
	late()
	shareRan(true)
	if !topFirst {
		give(top, min(left, topBudget))
	}
	if left >= 1 {
		t.b.cpuUnplaced += int64(left)
	}
	kept := t.spare[:0]
	for _, r := range t.spare {
		if r.room > 0 {
			kept = append(kept, r)
		}
	}
	t.spare = kept
	if scale != 0 {
		for _, n := range t.ran {
			if n.waits() {
				continue // late CPU time is not a waiting frame's either
			}
			if room := int64(float64(n.ran)*scale) - (n.cpu - n.cpuBefore); room > 0 {
				t.spare = append(t.spare, spareRoom{n, room})
			}
		}
	}
	if len(t.spare) > maxSpare {
		t.spare = append(t.spare[:0], t.spare[len(t.spare)-maxSpare:]...)
	}
	for _, n := range t.ran {
		n.ran = 0
	}
	t.ran = t.ran[:0]
}

// spareRoom is CPU time a node could still take: it ran longer, in an
// earlier period, than the CPU time it was given then.
type spareRoom struct {
	node *bnode
	room int64
}

// maxSpare bounds the earlier rooms a thread keeps: a few hundred
// periods, more than the scheduler's clock lags.
const maxSpare = 256
