package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestQuietGC: the collector is off until the memory limit, and the first
// collection there turns it back on as it was, with no limit.
func TestQuietGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	quietGC()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d after quietGC, want -1 (off)", p)
	}
	var sink [][]byte
	for i := 0; i < 2*quietUntil>>20; i++ {
		sink = append(sink, make([]byte, 1<<20))
		sink = sink[len(sink)-1:] // garbage, so that the limit's collection frees it
	}
	runtime.KeepAlive(sink)
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.Gosched()
		percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
		debug.SetGCPercent(percent)
		if percent == 100 && limit == math.MaxInt64 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d MiB allocated: GC percent %d, limit %d; want 100 and none", 2*quietUntil>>20, percent, limit)
		}
		time.Sleep(time.Millisecond)
	}
}
