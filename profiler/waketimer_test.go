package profiler

import (
	"testing"
	"time"
)

// TestWakeTimer checks the drain loops' timer as they use it: it expires
// once per Reset, never before its wait, drops an expiry not taken when
// reset, and lets its goroutine go when stopped.
func TestWakeTimer(t *testing.T) {
	const wait = 5 * time.Millisecond
	start := time.Now()
	tm := newWakeTimer(wait)
	if tm.fallback != nil {
		t.Fatal("no timerfd here: the test would check the fallback only")
	}
	expectExpiry(t, tm, start, wait)
	select {
	case <-tm.C:
		t.Fatal("a one-shot timer expired twice")
	case <-time.After(4 * wait):
	}

	for range 3 {
		start = time.Now()
		tm.Reset(wait)
		expectExpiry(t, tm, start, wait)
	}

	// An expiry not taken before Reset is not seen after it.
	tm.Reset(time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	start = time.Now()
	tm.Reset(50 * time.Millisecond)
	expectExpiry(t, tm, start, 50*time.Millisecond)

	stopped := make(chan struct{})
	go func() {
		tm.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return")
	}
	select {
	case <-tm.done:
	default:
		t.Fatal("the timer's goroutine outlived Stop")
	}
	tm.Reset(time.Millisecond) // after Stop: arms nothing, whatever the fd is now
	select {
	case <-tm.C:
		t.Fatal("a stopped timer expired")
	case <-time.After(20 * time.Millisecond):
	}
}

// expectExpiry waits for tm's next expiry and checks it came no sooner
// than wait after start.
func expectExpiry(t *testing.T, tm *wakeTimer, start time.Time, wait time.Duration) {
	t.Helper()
	select {
	case <-tm.C:
		if got := time.Since(start); got < wait {
			t.Fatalf("expired after %v, before its wait of %v", got, wait)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no expiry 5 s after a wait of %v", wait)
	}
}
