package profiler

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/ring"
	"github.com/pyprof/pyprof/profiler/wire"
)

// RegionOptions configures the recording of regions of a Python process
// that is already running and loads the agent itself: pyprof's Python API
// (pyprof.profile() and pyprof.Profiler) starts pyprof beside the program,
// which then records what every thread of the program does from each
// start() to the stop() after it.
type RegionOptions struct {
	// PID is the program's process.
	PID int
	// Interpreter is the program's Python, as the program describes
	// itself: it runs already, there is nothing to probe.
	Interpreter *agent.Interpreter
	Agent       agent.Kind
	RingBytes   uint64
	Slots       int
	// Poll is how often the rings are drained while a region records.
	Poll time.Duration
	// CPURate is how many times a second each thread's CPU clock is read
	// while a region records, unless Begin says otherwise; 0 measures no
	// CPU time in any region.
	CPURate int
}

// Regions records regions of one process into one set of rings. The
// agent loads once per process and defines each code object once, so
// the rings, the decoders and the definitions outlive every region;
// between regions the agent records nothing.
type Regions struct {
	o    RegionOptions
	s    *session
	prep *agent.Prepared
	// cal converts ticks over the whole life of the rings, however short
	// a region is.
	cal *clock.Calibration
	// calls run on the drain goroutine, which alone touches s.
	calls   chan func()
	quit    chan struct{}
	stopped chan struct{}
	// cur is the region recording now, nil between regions.
	cur *regionStart
	// cpuPeriod is how often the current region reads CPU clocks.
	cpuPeriod time.Duration
}

// regionStart is what End measures a region from.
type regionStart struct {
	started     time.Time
	tick, nanos int64
	// base holds the counters of the rings when the region began.
	base Stats
}

// idleDrain is how often the rings are drained between regions: nothing
// is recorded then, but the slots of threads that ended are recycled.
const idleDrain = 100 * time.Millisecond

// ErrRegionState is returned by Begin during a region and by End outside one.
var ErrRegionState = errors.New("region")

// NewRegions prepares the agent for the process's Python and makes the
// rings it will record into.
func NewRegions(o RegionOptions) (*Regions, error) {
	prep, err := agent.Prepare(o.Interpreter, o.Agent)
	if err != nil {
		return nil, environment(err)
	}
	kind := clock.Best()
	if prep.Kind == agent.Python {
		kind = clock.Monotonic
	}
	shm, err := ring.Create(ring.Options{Slots: o.Slots, RingBytes: o.RingBytes, Clock: uint32(kind)})
	if err != nil {
		return nil, environment(err)
	}
	s := &session{o: Options{RingBytes: o.RingBytes, Poll: o.Poll, CPURate: o.CPURate}, clk: kind, builder: callgraph.NewBuilder()}
	s.main = s.newProc(0, shm, s.builder.Main())
	if o.CPURate > 0 {
		s.builder.MeasureCPU()
	}
	r := &Regions{o: o, s: s, prep: prep, cal: clock.Start(kind),
		calls: make(chan func()), quit: make(chan struct{}), stopped: make(chan struct{})}
	go r.loop()
	return r, nil
}

// Agent is what the process must load: the agent's and the bootstrap's paths.
func (r *Regions) Agent() *agent.Prepared { return r.prep }

// Rings is the shared memory the agent maps (its init(fd, hidden)).
func (r *Regions) Rings() *os.File { return r.s.main.shm.File() }

// Close stops draining and unmaps the rings; the agent, if it records
// still, finds its consumer gone and stops.
func (r *Regions) Close() {
	close(r.quit)
	<-r.stopped
	r.s.main.cpu.close()
	r.s.main.shm.Close()
}

// do runs f on the drain goroutine and waits for it.
func (r *Regions) do(f func()) {
	done := make(chan struct{})
	r.calls <- func() { f(); close(done) }
	<-done
}

// loop drains the rings: at the pacer's pace during a region, as record
// does, and every idleDrain between regions.
func (r *Regions) loop() {
	defer close(r.stopped)
	s := r.s
	cpuPeriod := r.cpuPeriod
	pace := newPacer(r.o.Poll, r.o.RingBytes, cpuPeriod)
	tick := newWakeTimer(idleDrain)
	defer tick.Stop()
	lastCPU := time.Now()
	for {
		select {
		case <-r.quit:
			return
		case f := <-r.calls:
			f()
			if r.cpuPeriod != cpuPeriod {
				// A region with a rate of its own began.
				cpuPeriod = r.cpuPeriod
				pace = newPacer(r.o.Poll, r.o.RingBytes, cpuPeriod)
			}
			if r.cur != nil {
				tick.Reset(r.o.Poll)
				lastCPU = time.Now()
			}
		case <-tick.C:
			if r.cur == nil {
				s.drainAll()
				tick.Reset(idleDrain)
				continue
			}
			if cpuPeriod > 0 && time.Since(lastCPU) >= cpuPeriod {
				lastCPU = time.Now()
				s.sampleCPU()
			}
			s.busiest = 0
			s.drainAll()
			tick.Reset(pace.next(s.busiest))
		}
	}
}

// Begin starts a region that reads CPU clocks cpuRate times a second
// (RegionOptions.CPURate when 0); the process turns its events on once
// Begin has returned. Whatever reached the rings before is dropped: a
// record a thread finished writing after the previous region ended.
func (r *Regions) Begin(cpuRate int) error {
	var err error
	r.do(func() {
		if r.cur != nil {
			err = fmt.Errorf("%w: a region is recording already", ErrRegionState)
			return
		}
		s := r.s
		s.drainAll()
		s.builder.NextRegion(r.liveThreads())
		if r.o.CPURate > 0 {
			if cpuRate <= 0 {
				cpuRate = r.o.CPURate
			}
			r.cpuPeriod = time.Second / time.Duration(cpuRate)
			// Fresh readings, taken now: CPU time used between regions is
			// no region's, and what the region uses before the first
			// reading is its own.
			s.main.cpu.close()
			s.main.cpu = newCPUClocks(r.o.PID)
			r.readCPUBaselines()
		}
		r.cur = &regionStart{started: time.Now(), tick: clock.Now(s.clk), nanos: clock.MonotonicNanos(), base: s.finishStats()}
	})
	return err
}

// liveThreads are the threads whose rings are being decoded: they go on
// into the next region.
func (r *Regions) liveThreads() []*callgraph.ThreadBuilder {
	var live []*callgraph.ThreadBuilder
	for k := range r.s.main.decoders {
		if t := r.s.main.thread(k); t != nil {
			live = append(live, t)
		}
	}
	return live
}

// End finishes the region the process has just turned its events off
// for and returns its profile. names gives thread names by native id,
// which the agent does not know; threads without one are named as the
// sampler names them.
func (r *Regions) End(names map[int64]string) (*Result, error) {
	var res *Result
	var err error
	r.do(func() {
		if r.cur == nil {
			err = fmt.Errorf("%w: no region is recording", ErrRegionState)
			return
		}
		res = r.finish(names)
		r.cur = nil
	})
	return res, err
}

// ReadCPU reads the CPU clocks of the threads as a sampling does: the
// process asks for it as its region ends, before it turns its events
// off, so that what the region's thread used since the last sampling goes
// to the path it ran, not to what runs after the region.
func (r *Regions) ReadCPU() {
	r.do(func() {
		if r.cur != nil && r.o.CPURate > 0 {
			r.s.sampleCPU()
		}
	})
}

// readCPUBaselines reads the CPU clock of every thread of the process,
// the baselines of the region's first readings. A thread whose clock
// cannot be read is read first at the first sampling, as before.
func (r *Regions) readCPUBaselines() {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", r.o.PID))
	if err != nil {
		return
	}
	for _, task := range tasks {
		if tid, err := strconv.ParseInt(task.Name(), 10, 64); err == nil {
			// No events counted yet: the next sampling reads it again.
			r.s.main.cpu.delta(tid, -1)
		}
	}
}

// chargeLastCPU reads each thread's CPU clock once more as the region
// ends, before what is left in its ring (the region's end) is drained:
// the CPU time it used since its last reading goes to the path it was
// on, instead of being lost (a third of a 30 ms region's at 100 Hz).
func (r *Regions) chargeLastCPU() {
	s, pr := r.s, r.s.main
	if pr.cpu == nil {
		return
	}
	pr.cpu.nextRound()
	for k, slot := range pr.shm.Active() {
		if slot.State() != wire.SlotOwned {
			continue
		}
		t := pr.thread(k)
		if t == nil {
			continue
		}
		if ns, onCPU, ok := pr.cpu.delta(t.ID, pr.decoders[k].Events); ok {
			t.ChargeCPU(ns, onCPU, s.now(pr), clock.MonotonicNanos())
		}
	}
}

func (r *Regions) finish(names map[int64]string) *Result {
	s, start := r.s, r.cur
	if r.o.CPURate > 0 {
		r.chargeLastCPU()
	}
	s.drainAll()
	s.procs(s.flushDecoders)
	endTick, endNanos := clock.Now(s.clk), clock.MonotonicNanos()
	r.cal.Stop()
	st := s.finishStats().since(start.base)
	st.Elapsed = time.Since(start.started)
	s.builder.AddLost(st.Lost)
	prof := s.builder.Finish(callgraph.FinishOptions{
		End: endTick, NanosPerTick: r.cal.NanosPerTick(), Start: start.started, Duration: st.Elapsed,
		StartTick: start.tick, StartNanos: start.nanos, EndNanos: endNanos,
	})
	for _, th := range prof.Threads {
		if th.Name == "" {
			th.Name = names[th.ID]
		}
	}
	nameThreads(prof, int64(r.o.PID))
	st.Threads = len(prof.Threads)
	return &Result{Profile: prof, Stats: st, Interpreter: r.o.Interpreter, Agent: r.prep}
}

// since is what the counters of st grew by from base.
func (st Stats) since(base Stats) Stats {
	st.Events -= base.Events
	st.Lost -= base.Lost
	st.ProducerWait = max(st.ProducerWait-base.ProducerWait, 0)
	st.Mismatched -= base.Mismatched
	st.DecodeErrors -= base.DecodeErrors
	return st
}
