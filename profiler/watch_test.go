package profiler

import (
	"bufio"
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/pyprof/pyprof/profiler/agent"
)

// TestWatchPacesIntervals checks that Watch hands over one profile per
// interval, each ending on the interval grid, whatever the sampling rate:
// a rate of one read a second must not make it print in a busy loop.
func TestWatchPacesIntervals(t *testing.T) {
	interpretersOnce.Do(func() { interpreters = agent.All() })
	if len(interpreters) == 0 {
		t.Fatal("no Python 3.12+ found: install one (pyenv install 3.12) or put python3.12 on PATH")
	}
	py := interpreters[0]
	cmd := exec.Command(py.RunPath(), "-c", "print('ready', flush=True)\nwhile True: pass")
	cmd.Env = py.Environ()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	const interval = 100 * time.Millisecond
	for _, rate := range []int{100, 1} {
		var got []Interval
		so := SampleOptions{Rate: rate, Duration: 5*interval + interval/2}
		if err := Watch(context.Background(), cmd.Process.Pid, so, interval, func(iv Interval) { got = append(got, iv) }); err != nil {
			t.Fatalf("rate %d: %v", rate, err)
		}
		if len(got) < 2 || len(got) > 6 {
			t.Fatalf("rate %d: %d intervals in %v, want 6 (or fewer, on a loaded machine)", rate, len(got), so.Duration)
		}
		for _, iv := range got[:len(got)-1] {
			if iv.Since < time.Duration(iv.N)*interval || iv.Stats.Samples == 0 {
				t.Errorf("rate %d: interval %d ended at %v with %d samples, want at %v or later, with samples",
					rate, iv.N, iv.Since, iv.Stats.Samples, time.Duration(iv.N)*interval)
			}
		}
	}
	// A duration of whole intervals ends with the last of them, not with
	// an interval begun a moment before the end, of a sample or two.
	for run := range 5 {
		var got []Interval
		so := SampleOptions{Rate: 200, Duration: 3 * interval}
		if err := Watch(context.Background(), cmd.Process.Pid, so, interval, func(iv Interval) { got = append(got, iv) }); err != nil {
			t.Fatal(err)
		}
		if n := len(got); n > 3 || got[n-1].Stats.Samples < 5 {
			t.Fatalf("run %d: %d intervals in %v, the last of %d samples over %v; want 3 or fewer, each of several samples",
				run, n, so.Duration, got[n-1].Stats.Samples, got[n-1].Stats.Elapsed)
		}
	}
}
