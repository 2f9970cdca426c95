package profiler

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	const ring = 8 << 20
	p := newPacer(time.Millisecond, ring, 10*time.Millisecond)
	var waits []time.Duration
	for range 5 { // quiet rings: the pace slows, doubling, to its bound
		waits = append(waits, p.next(0))
	}
	want := []time.Duration{2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond, p.slowest, p.slowest}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("quiet waits %v, want %v", waits, want)
		}
	}
	// A quarter of the ring at maxFillRate, 10.5 ms for 8 MiB, is more
	// than the CPU sampling's period: the drains come with the readings.
	if p.slowest != 10*time.Millisecond {
		t.Errorf("slowest %v for an 8 MiB ring, want the CPU period, 10ms", p.slowest)
	}
	if q := newPacer(time.Millisecond, 2<<20, 0); q.slowest < 2*time.Millisecond || q.slowest > 3*time.Millisecond {
		t.Errorf("slowest %v for a 2 MiB ring, want a quarter of it at maxFillRate, 2.6ms", q.slowest)
	}
	if got := p.next(ring / 16); got != time.Millisecond {
		t.Errorf("after a busy ring: %v, want back to 1ms at once", got)
	}
	if got := p.next(ring/16 - 1); got != 2*time.Millisecond {
		t.Errorf("after a quiet drain: %v, want 2ms", got)
	}

	for _, tc := range []struct {
		name      string
		ring      uint64
		cpuPeriod time.Duration
		want      time.Duration
	}{
		{"CPU sampling keeps its rate", 1 << 30, 4 * time.Millisecond, 4 * time.Millisecond},
		{"no ring waits longer than the cap", 1 << 30, 0, slowestPace},
		{"a small ring is drained at the fastest pace", 64 << 10, 10 * time.Millisecond, time.Millisecond},
	} {
		if got := newPacer(time.Millisecond, tc.ring, tc.cpuPeriod).slowest; got != tc.want {
			t.Errorf("%s: slowest %v, want %v", tc.name, got, tc.want)
		}
	}
}
