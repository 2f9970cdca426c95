package callgraph

import "testing"

// TestChargeCPUBeforeASleep: a thread asleep at a reading used its CPU
// time before it went to sleep, in the frames that ran; that includes the
// earlier periods whose CPU time its clock, updated at the scheduler's
// ticks, reports late. The sleeping frame comes after all of them, as the
// sampler gives a thread seen asleep none of a gap's CPU time while the
// end seen running has room.
func TestChargeCPUBeforeASleep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []cpuStep
		want  map[string]int64
	}{
		{
			name: "a lagging clock read in a sleep: the spin before it used the CPU",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "start f 5 @1", "cpu 0 on @11", "return f @11",
				"call time.sleep 9 @11", "cpu 10 off @21", "creturn time.sleep @30", "return main @30"},
			want: map[string]int64{"m.main": 0, "m.f": 10, "time.sleep": 0},
		},
		{
			name: "more than the spin ran: the sleep takes the rest, last",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "start f 5 @1", "cpu 0 on @11", "return f @11",
				"call time.sleep 9 @11", "cpu 14 off @21", "creturn time.sleep @30", "return main @30"},
			want: map[string]int64{"m.main": 0, "m.f": 10, "time.sleep": 4},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu, _, _ := runCPU(t, tc.steps)
			for name, want := range tc.want {
				if cpu[name] != want {
					t.Errorf("%s: cpu %d, want %d (all: %v)", name, cpu[name], want, cpu)
				}
			}
		})
	}
}
