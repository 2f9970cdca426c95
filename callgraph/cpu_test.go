package callgraph

import "testing"

// TestChargeCPUBeforeASleep: a thread asleep at a reading used its CPU
// time before it went to sleep, in the frames that ran; that includes the
// earlier periods whose CPU time its clock, updated at the scheduler's
// ticks, reports late. The sleeping frame comes after all of them, as the
// sampler gives a thread seen asleep none of a gap's CPU time while the
// end seen running has room, and stays last once woken.
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
		{
			// The second reading finds the thread runnable in the sleep it
			// was found asleep in before: woken, waiting for a CPU. The
			// spin before it used the CPU time, not the sleep.
			name: "a sleep found asleep once comes last when found woken",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "start f 5 @1", "return f @11",
				"call time.sleep 9 @11", "cpu 10 off @21", "creturn time.sleep @22",
				"start f 5 @22", "return f @32", "call time.sleep 9 @32", "cpu 10 on @40",
				"creturn time.sleep @41", "return main @41"},
			want: map[string]int64{"m.main": 0, "m.f": 20, "time.sleep": 0},
		},
		{
			// A reading can find the frame that just returned on top with
			// the thread asleep already in the next: one such reading
			// among others finding it running does not make it a wait,
			// and it keeps coming first when found running.
			name: "a native found asleep once among readings running is no wait",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "call builtins.len 3 @1", "cpu 0 on @5", "cpu 0 on @9",
				"cpu 0 off @10", "creturn builtins.len @10", "start f 5 @20", "return f @25",
				"call builtins.len 3 @25", "cpu 5 on @30", "creturn builtins.len @30", "return main @30"},
			want: map[string]int64{"m.f": 0, "builtins.len": 5},
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
