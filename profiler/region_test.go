package profiler

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/ring"
	"github.com/pyprof/pyprof/profiler/wire"
)

// fakeAgent writes records into one ring as the agent does.
type fakeAgent struct {
	t    *testing.T
	p    *ring.Producer
	last uint64
}

func (a *fakeAgent) write(words ...uint64) {
	a.t.Helper()
	if !a.p.TryWrite(words...) {
		a.t.Fatal("ring full")
	}
}

func (a *fakeAgent) ext(sub int, payload []byte) {
	a.t.Helper()
	for len(payload)%8 != 0 {
		payload = append(payload, 0)
	}
	words := []uint64{uint64(sub)<<wire.SubShift | uint64(len(payload))<<wire.LenShift}
	for i := 0; i < len(payload); i += 8 {
		words = append(words, binary.LittleEndian.Uint64(payload[i:]))
	}
	a.write(words...)
}

func (a *fakeAgent) thread(tid uint64) {
	a.t.Helper()
	p := binary.LittleEndian.AppendUint64(nil, tid)
	p = binary.LittleEndian.AppendUint64(p, 1)
	a.ext(wire.XThread, binary.LittleEndian.AppendUint64(p, a.last))
}

func (a *fakeAgent) code(id uint32, qualname string) {
	a.t.Helper()
	p := binary.LittleEndian.AppendUint32(nil, id)
	p = binary.LittleEndian.AppendUint32(p, 1) // first line
	p = binary.LittleEndian.AppendUint32(p, 0) // flags
	for _, s := range []string{qualname, "/app/work.py", "work"} {
		p = append(binary.LittleEndian.AppendUint32(p, uint32(len(s))), s...)
	}
	a.ext(wire.XCode, binary.LittleEndian.AppendUint32(p, 0)) // no line table
}

func (a *fakeAgent) hot(kind uint64, id uint32) {
	a.t.Helper()
	a.last += 10
	a.write(kind<<wire.KindShift | uint64(id)<<wire.IdShift | wire.SiteNone<<wire.SiteShift | 10)
}

// now brings the ring's time to the clock's (XTime): what follows happens
// now.
func (a *fakeAgent) now() {
	a.t.Helper()
	a.last = uint64(clock.MonotonicNanos())
	a.ext(wire.XTime, binary.LittleEndian.AppendUint64(nil, a.last))
}

// regionCalls adds up the calls of each function of a profile.
func regionCalls(p *callgraph.Profile) map[string]int64 {
	n := map[string]int64{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			x := path[len(path)-1]
			n[p.Funcs[x.Func].Name] += x.Total[callgraph.Calls]
		})
	}
	return n
}

// TestRegions records two regions of one fake process: the second uses a
// code object the first defined, the thread goes on in the same ring, and
// a record written between regions belongs to neither.
func TestRegions(t *testing.T) {
	r, err := NewRegions(RegionOptions{
		PID:         1,
		Interpreter: &agent.Interpreter{Version: [3]int{3, 12, 1}, HasMonitoring: true, Implementation: "cpython"},
		Agent:       agent.Python, RingBytes: 1 << 16, Slots: 2, Poll: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.End(nil); !errors.Is(err, ErrRegionState) {
		t.Errorf("End before any region: %v, want ErrRegionState", err)
	}
	a := &fakeAgent{t: t, p: ring.NewProducer(r.s.main.shm.Slots()[0])}

	if err := r.Begin(0); err != nil {
		t.Fatal(err)
	}
	if err := r.Begin(0); !errors.Is(err, ErrRegionState) {
		t.Errorf("Begin during a region: %v, want ErrRegionState", err)
	}
	a.thread(7)
	a.code(1, "work")
	a.hot(wire.KPyStart, 1)
	a.hot(wire.KPyReturn, 1)
	first, err := r.End(map[int64]string{7: "worker"})
	if err != nil {
		t.Fatal(err)
	}
	a.hot(wire.KPyStart, 1) // a straggler, after the region ended

	if err := r.Begin(0); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		a.hot(wire.KPyStart, 1)
		a.hot(wire.KPyReturn, 1)
	}
	second, err := r.End(map[int64]string{7: "worker"})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		res   *Result
		calls int64
	}{{"first", first, 1}, {"second", second, 2}} {
		got := regionCalls(tc.res.Profile)
		if len(got) != 1 || got["work.work"] != tc.calls {
			t.Errorf("%s region's calls: %v, want work.work: %d and nothing else", tc.name, got, tc.calls)
		}
		if th := tc.res.Profile.Threads; len(th) != 1 || th[0].ID != 7 || th[0].Name != "worker" {
			t.Errorf("%s region's threads: %+v, want thread 7 named worker", tc.name, th)
		}
		if ev := tc.res.Stats.Events; ev != 2*tc.calls {
			t.Errorf("%s region counts %d events, want %d", tc.name, ev, 2*tc.calls)
		}
	}
}

// TestRegionCPUAtBothEnds burns CPU on one thread of this process through
// a region that reads CPU clocks once a second: shorter than a reading's
// interval, the region gets its CPU time only from the readings taken as
// it begins and as it ends.
func TestRegionCPUAtBothEnds(t *testing.T) {
	const burn = 60 * time.Millisecond
	r, err := NewRegions(RegionOptions{
		PID:         os.Getpid(),
		Interpreter: &agent.Interpreter{Version: [3]int{3, 12, 1}, HasMonitoring: true, Implementation: "cpython"},
		Agent:       agent.Python, RingBytes: 1 << 16, Slots: 2, Poll: time.Millisecond, CPURate: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a := &fakeAgent{t: t, p: ring.NewProducer(r.s.main.shm.Slots()[0])}
	used := make(chan time.Duration)
	var res *Result
	go func() {
		// The records are this thread's, as the agent writes a thread's own.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := r.Begin(0); err != nil {
			t.Error(err)
		}
		// Times are the clock's, as the agent's: CPU time fits in wall time.
		a.last = uint64(clock.MonotonicNanos())
		a.thread(uint64(unix.Gettid()))
		a.code(1, "work")
		a.hot(wire.KPyStart, 1)
		began := threadCPU(t)
		for threadCPU(t)-began < burn {
		}
		used <- threadCPU(t) - began
		// As the package does: read, then end the region's frame.
		r.ReadCPU()
		a.now()
		a.hot(wire.KPyReturn, 1)
		res, err = r.End(nil)
		if err != nil {
			t.Error(err)
		}
		close(used)
	}()
	burnt := <-used
	<-used
	if res == nil {
		t.Fatal("no region")
	}
	var charged int64
	for _, th := range res.Profile.Threads {
		charged += th.Root.Total[callgraph.CPU]
		for _, c := range th.Root.Children {
			charged += c.Total[callgraph.CPU]
		}
	}
	if float64(charged) < 0.7*float64(burnt) {
		t.Errorf("the region holds %v of CPU time, its thread used %v", time.Duration(charged), burnt)
	}
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU(t *testing.T) time.Duration {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}
