package profiler

import (
	"os"
	"testing"
)

// TestChildEndStampedWhenItHungUp: a child's end is when its connection
// ended, stamped by the listener at once, on the clock its events use; not
// when the drain loop got to it, which on a loaded machine was tens of
// milliseconds later, charged to the child's last call (os._exit's).
func TestChildEndStampedWhenItHungUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nanos bool
		want  int64
	}{
		{"the recording's clock", false, 1000},
		{"the monotonic clock (a child on the twin)", true, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid := os.Getpid() // alive: the end waits for /proc to say so
			pr := &procRings{pid: pid, serial: 7, nanos: tc.nanos}
			s := &session{followed: map[int]*procRings{pid: pr}}
			s.ended(childExit{pid: pid, serial: 7, at: stamp{clk: 1000, nanos: 2000}})
			if pr.hungUp != tc.want {
				t.Errorf("hung up at %d, want %d (the listener's stamp)", pr.hungUp, tc.want)
			}
		})
	}
}
