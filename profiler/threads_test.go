package profiler

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/profiler/agent"
)

// TestRecordThousandThreadsAliveAtOnce: a thousand threads alive at once,
// as in a server's thread pool, each get a ring: every call is counted as
// sys.monitoring raised it, and no event is lost.
func TestRecordThousandThreadsAliveAtOnce(t *testing.T) {
	const threads = 1000
	file := program("alive.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		r := recordWith(t, i, k, []string{file, fmt.Sprint(threads)}, func(o *Options) { o.Slots = DefaultSlots })
		if r.res.Stats.Lost != 0 {
			t.Fatalf("%d events lost", r.res.Stats.Lost)
		}
		p := r.res.Profile
		assertExactCounts(t, p, referenceCounts(t, i, file, fmt.Sprint(threads)), file)
		workers := 0
		for _, th := range p.Threads {
			if strings.HasPrefix(th.Name, "w") {
				workers++
			}
		}
		var works int64
		for path, n := range paths(p, "") {
			if strings.HasSuffix(path, "__main__.worker;__main__.work") {
				works += n
			}
		}
		if workers != threads || works != 4*threads {
			t.Errorf("%d worker threads calling work %d times, want %d and %d", workers, works, threads, 4*threads)
		}
	})
}

// TestRecordGivesRingMemoryBack: threads that wrote a lot and ended leave
// neither the pages of their rings (once pyprof recycled their slots) nor
// the address space the program mapped them in, with the rings and slots
// pyprof record uses.
func TestRecordGivesRingMemoryBack(t *testing.T) {
	const (
		threads = 64
		calls   = 20000 // about 500 KiB of records a thread
		// What may stay: the header and control blocks, the main thread's
		// ring, and the 64 KiB each slot used keeps mapped for its next
		// thread (up to 64 slots here): under 8 MiB, against the 32 MiB
		// the threads wrote.
		bound = 8 << 20
	)
	file := program("churn.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		r := recordWith(t, i, k, []string{file, fmt.Sprint(threads), fmt.Sprint(calls), fmt.Sprint(bound)}, func(o *Options) {
			o.Slots, o.RingBytes = DefaultSlots, 8<<20
		})
		var cost struct{ Allocated, Mapped int64 }
		if err := json.Unmarshal([]byte(r.stdout), &cost); err != nil {
			t.Fatalf("the program's report %q: %v", r.stdout, err)
		}
		t.Logf("after the threads ended: %d bytes of pages, %d bytes mapped", cost.Allocated, cost.Mapped)
		if r.res.Stats.Events < threads*calls {
			t.Fatalf("%d events recorded, fewer than the %d calls made", r.res.Stats.Events, threads*calls)
		}
		if cost.Allocated < 0 || cost.Allocated > bound {
			t.Errorf("%d bytes of the rings hold pages after their threads ended, want at most %d (-1: no descriptor found)", cost.Allocated, bound)
		}
		if cost.Mapped > bound {
			t.Errorf("%d bytes of the rings still mapped after their threads ended, want at most %d", cost.Mapped, bound)
		}
	})
}

// TestRecordMoreThreadsThanSlots: threads past the slots lose their
// events, counted, and the program runs to its end as it would unprofiled.
// The twin's thread that found no slot at first, and looked again from
// its thread's naming (not a callback), used to wait on itself for ever.
func TestRecordMoreThreadsThanSlots(t *testing.T) {
	const slots, threads = 4, 12
	file := program("alive.py")
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		target, err := ParseTarget([]string{file, fmt.Sprint(threads)}, true)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := Record(ctx, Options{Target: target, Python: i.Path, Agent: k, ToolID: 2, RingBytes: 1 << 16,
			Slots: slots, Poll: time.Millisecond, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 0 || res.Stats.Lost == 0 {
			t.Errorf("the program ended with status %d (signal %v) and %d events lost; want 0 and some lost", res.ExitCode, res.Signaled, res.Stats.Lost)
		}
	})
}
