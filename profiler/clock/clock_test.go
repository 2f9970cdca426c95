package clock

import (
	"math"
	"testing"
	"time"
)

func TestCalibrationMatchesMonotonic(t *testing.T) {
	for _, k := range []Kind{TSC, Monotonic} {
		if k == TSC && !tscUsable() {
			t.Logf("TSC not usable here; skipping that clock")
			continue
		}
		// Measure one interval with both clocks; how long it really lasts
		// (a sleep overshoots on a loaded machine) does not matter.
		c := Start(k)
		t0, m0 := Now(k), MonotonicNanos()
		time.Sleep(50 * time.Millisecond)
		t1, m1 := Now(k), MonotonicNanos()
		c.Stop()
		got, want := float64(t1-t0)*c.NanosPerTick(), float64(m1-m0)
		if math.Abs(got-want) > 0.01*want+20e3 {
			t.Errorf("clock %d: an interval of %.0f ns measured as %.0f ns", k, want, got)
		}
	}
}
