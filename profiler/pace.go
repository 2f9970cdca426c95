package profiler

import "time"

// pacer sets how long the consumer sleeps between drains of the rings.
//
// Why not a fixed tick: every wakeup costs a context switch, and at 1 kHz
// an idle pyprof used ~4% of a core here (perf: most of it in the
// kernel's task switch), CPU the program may need on a small machine. So
// quiet rings are drained less and less often, down to slowest, and a ring
// found filling brings the pace back to fastest at once. slowest is bounded
// so that a ring cannot fill up between two drains even at a write rate
// well above what the agent reaches (maxFillRate), and so that CPU
// sampling keeps its rate.
type pacer struct {
	fastest, slowest, now time.Duration
	// busy is what a ring must have held, in bytes, for the next drain to
	// come at the fastest pace.
	busy uint64
}

// maxFillRate bounds how fast one thread fills its ring, in bytes a
// second: 25 M records of 8 bytes, above the fastest workload's rate
// measured here (fib, cfuncs: 12-20 M records/s). A higher bound drains
// quiet rings more often for nothing: with 8 MiB rings, 400 MB/s drained
// them every 5 ms, and those wakeups, with the CPU readings every 10 ms,
// slowed four threads contending for the GIL by 4% (each wakeup can delay
// the thread that takes the GIL next) against 2% at one drain every 10 ms.
const maxFillRate = 200e6

// slowestPace caps how long rings may go undrained whatever the ring size.
const slowestPace = 10 * time.Millisecond

// newPacer paces drains of rings of ringBytes each, never slower than
// cpuPeriod when that is not zero.
func newPacer(fastest time.Duration, ringBytes uint64, cpuPeriod time.Duration) *pacer {
	// A quarter of a ring at maxFillRate: the drain after a quiet spell
	// comes before a sudden burst could fill it.
	slowest := time.Duration(float64(ringBytes) / 4 / maxFillRate * float64(time.Second))
	slowest = min(slowest, slowestPace)
	if cpuPeriod > 0 {
		slowest = min(slowest, cpuPeriod)
	}
	slowest = max(slowest, fastest)
	return &pacer{fastest: fastest, slowest: slowest, now: fastest, busy: ringBytes / 16}
}

// next returns the wait before the next drain, given the most bytes one
// ring held in the drain just done.
func (p *pacer) next(largest uint64) time.Duration {
	if largest >= p.busy {
		p.now = p.fastest
	} else {
		p.now = min(2*p.now, p.slowest)
	}
	return p.now
}
