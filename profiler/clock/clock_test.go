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
		c := Start(k)
		t0 := Now(k)
		time.Sleep(50 * time.Millisecond)
		t1 := Now(k)
		c.Stop()
		got := float64(t1-t0) * c.NanosPerTick()
		if math.Abs(got-50e6) > 25e6 {
			t.Errorf("clock %d: 50ms sleep measured as %.0f ns", k, got)
		}
	}
}
