package clock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kind is the source of timestamps: wire.ClockTsc or wire.ClockMonotonic.
type Kind uint32

const (
	TSC       Kind = 1
	Monotonic Kind = 2
)

// Best returns TSC where it is invariant and readable here, else Monotonic.
func Best() Kind {
	if tscUsable() {
		return TSC
	}
	return Monotonic
}

// MonotonicNanos reads CLOCK_MONOTONIC, the clock the agent uses when it
// does not use the TSC.
//
// The syscall is made raw, without telling Go's scheduler (unix.ClockGettime
// tells it): the drain loop reads this clock on every pass, and a syscall
// made the usual way while the process is otherwise idle wakes the runtime's
// monitor thread, which then checks on the process every 20 µs until it is
// idle again. clock_gettime never blocks, which is what a raw syscall needs.
func MonotonicNanos() int64 {
	var ts unix.Timespec
	_, _, _ = unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// Calibration converts ticks of one Kind to nanoseconds from two readings
// of both clocks, taken at the start and the end of a recording.
type Calibration struct {
	kind         Kind
	tick0, nano0 int64
	tick1, nano1 int64
}

// pair reads ticks and nanoseconds as close together as it can: the
// tightest of a few tries bounds the error.
func pair(k Kind) (ticks, nanos int64) {
	best := int64(1 << 62)
	for i := 0; i < 5; i++ {
		a := MonotonicNanos()
		t := Now(k)
		b := MonotonicNanos()
		if b-a < best {
			best, ticks, nanos = b-a, t, a+(b-a)/2
		}
	}
	return ticks, nanos
}

// Start begins a calibration.
func Start(k Kind) *Calibration {
	c := &Calibration{kind: k}
	c.tick0, c.nano0 = pair(k)
	return c
}

// StartTick is the tick of the first reading: the start of the recording.
func (c *Calibration) StartTick() int64 { return c.tick0 }

// Stop takes the second reading.
func (c *Calibration) Stop() {
	c.tick1, c.nano1 = pair(c.kind)
}

// NanosPerTick is the measured rate; 1 for the monotonic clock.
func (c *Calibration) NanosPerTick() float64 {
	if c.kind != TSC || c.tick1 <= c.tick0 {
		return 1
	}
	return float64(c.nano1-c.nano0) / float64(c.tick1-c.tick0)
}

// Now reads the clock of kind k in its own ticks.
func Now(k Kind) int64 {
	if k == TSC {
		return int64(rdtsc())
	}
	return MonotonicNanos()
}
