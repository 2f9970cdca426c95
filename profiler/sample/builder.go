package sample

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

// threadKey identifies a thread across processes.
type threadKey struct {
	pid, tid int64
}

// droppedName is the marker function that dropped stacks are charged to,
// under the outer frames that stood still while they were read (or the
// root), so that loss shows in every view, as Go's runtime/pprof charges
// its lost samples to a visible function.
const droppedName = callgraph.DroppedMarker

// unobservedName is the marker function of wall time that no sample can
// stand for: the part of a gap between two samples of a thread past
// max(maxGapPeriods periods, minGapCap), when pyprof itself was stopped.
const unobservedName = callgraph.UnobservedMarker

// Builder aggregates snapshots into a *callgraph.Profile with values
// Samples, Wall, CPU and (when the interpreter has a GIL) GIL.
//
// Wall time and samples: the wall time between two samples of a thread is
// shared between the stacks of the two, and samples count it in ticks of
// the period (rounded, the remainder carried per node), so that a tick the
// sampler missed is counted for the stacks around it. Normally the gap is
// one period, half of it to each end. A late tick makes a long gap; the
// sampler is late when it gets no CPU, which on a busy machine happens
// while the program runs, not while it sleeps, so late ticks end in sleeps
// more than elsewhere: charging a whole gap to the sample at its end (or
// counting one sample per tick taken) gave a sleeping function 37% of the
// wall time where it had 30%, and busy ones less. The thread's scheduler
// clocks say how much of the gap it wanted a CPU (ran or waited for one)
// and how much it slept: when it was on CPU at one end and off at the
// other, the running end gets the first and the sleeping end the rest;
// when both ends agree the gap is halved. Past max(maxGapPeriods periods,
// minGapCap) a gap is not shared at all: the excess goes to the
// unobservedName marker. A GIL-holding end counts its share as GIL time.
// A thread's first sample stands for one period.
//
// CPU time: the CPU time the thread used between two samples (from
// ThreadStack.CPUTime, the scheduler's count) goes where the wall time of
// the gap goes, to the ends that were running: all of it to the running
// end when one end ran and the other slept (a function that sleeps right
// after one that spins took the spinner's CPU otherwise: busy.py's nap,
// which sleeps 5 ms after each 5 ms spin, got 26-37% of the CPU at 500 Hz,
// now 0-11%, 3 runs each), halves when both ran, with the time the thread
// ran unseen when both slept. No end gets more CPU than the wall time it
// is charged, so no function shows more CPU than wall time: charging the
// whole gap's CPU to the newer sample, whose stack got half the gap's
// wall, did. Where the clocks are unknown (the thread's first sample, no
// schedstat) a running end's CPU is its wall. Counting a period per 'R'
// sample instead overstated the CPU share of short busy functions by up to
// 10 points against the program's own thread_time() on this loaded 2-core
// machine: 'R' includes waiting for a CPU.
//
// Nodes and lines: nodes have the identity callgraph gives them (see
// callgraph.Node.ChildAt). A frame that called the next one is an interior
// node, keyed by (function, CallLine), where CallLine is the line its
// caller was executing. The newest frame is a leaf node keyed by
// (function, CallLine, SelfLine), SelfLine being the line it was
// executing: a leaf node has no children and holds the time spent at that
// one line, so a function sampled at lines 12 and 14 gets two leaf
// siblings and an exporter writing "frame line = child's CallLine, leaf
// line = SelfLine" shows both lines. Interior nodes have SelfLine 0 and,
// in sampled trees, no self time but that of the samples that found the
// function at no line (the line table does not cover every instruction),
// which have no leaf of their own. Among siblings with the same (function,
// CallLine) the interior node comes first, so Node.Child still finds it.
type Builder struct {
	opts       Options
	period     time.Duration
	prof       *callgraph.Profile
	funcs      map[callgraph.Func]callgraph.FuncID
	byCode     map[*Code]callgraph.FuncID
	threads    map[threadKey]*callgraph.Thread
	children   *callgraph.ChildIndex
	markers    map[string]callgraph.FuncID
	last       map[threadKey]mark
	ticks      map[*callgraph.Node]float64 // ticks charged but not yet counted
	unseen     map[threadKey]*unseen
	unobserved time.Duration
	// cpuUnplaced is CPU time read that no stack could take without
	// getting more CPU than wall time (see chargeGap).
	cpuUnplaced time.Duration
	// carried is CPU time of a thread still running that its gap could not
	// take, carried to its next gaps (see chargeGap).
	carried map[threadKey]time.Duration
}

// unseen is a thread's time that no sample saw: time it ran between two
// samples that saw it sleep, and time it slept between two that saw it on
// CPU, to be shared out in proportion to the stacks seen running and
// sleeping (seen).
type unseen struct {
	run, sleep time.Duration
	// runCPU is the CPU time the thread used while it ran unseen, at
	// most run: it goes where run goes.
	runCPU time.Duration
	seen   [2]map[*callgraph.Node]time.Duration // [0] sleeping, [1] running
}

// maxGapPeriods and minGapCap bound the wall time a gap between two
// samples can share out: a longer gap (pyprof itself stopped) is not
// charged to the stacks around it. The bound is never under minGapCap: on
// a loaded machine the sampler is often tens of milliseconds late, and the
// thread's clocks still place that time.
const (
	maxGapPeriods = 10
	minGapCap     = 250 * time.Millisecond
)

// mark is what a Builder keeps of a thread's previous sample.
type mark struct {
	leaf      *callgraph.Node // nil when the sample was not recorded
	root      *callgraph.Node
	onCPU     bool
	gil       bool
	at        time.Time
	cpu, wait time.Duration
}

// NewBuilder returns a Builder for samples taken with opts.
func NewBuilder(opts Options) *Builder {
	opts = opts.withDefaults()
	period := time.Second / time.Duration(opts.Rate)
	return &Builder{
		opts:   opts,
		period: period,
		prof: &callgraph.Profile{
			Values:  []callgraph.Value{callgraph.Samples, callgraph.Wall, callgraph.CPU},
			Default: callgraph.Wall,
			Period:  period,
		},
		funcs:    map[callgraph.Func]callgraph.FuncID{},
		byCode:   map[*Code]callgraph.FuncID{},
		threads:  map[threadKey]*callgraph.Thread{},
		children: callgraph.NewChildIndex(),
		markers:  map[string]callgraph.FuncID{},
		last:     map[threadKey]mark{},
		ticks:    map[*callgraph.Node]float64{},
		unseen:   map[threadKey]*unseen{},
		carried:  map[threadKey]time.Duration{},
	}
}

// Add records every thread of s. pid labels the threads (Thread.PID): 0 for
// the profiled program itself, the child's pid when following children.
func (b *Builder) Add(pid int64, s *Snapshot) {
	if s.GIL {
		b.declareGIL()
	}
	for i := range s.Threads {
		b.addThread(pid, s.Time, &s.Threads[i])
	}
}

// Unobserved returns the wall time of gaps between samples that no stack
// was charged, past the bound on a gap (the unobservedName marker's).
func (b *Builder) Unobserved() time.Duration { return b.unobserved }

// declareGIL adds the GIL value to the profile, once.
func (b *Builder) declareGIL() {
	if !b.prof.Has(callgraph.GIL) {
		b.prof.Values = append(b.prof.Values, callgraph.GIL)
	}
}

func (b *Builder) addThread(pid int64, at time.Time, st *ThreadStack) {
	k := threadKey{pid, st.TID}
	prev, seen := b.last[k]
	delete(b.last, k)
	now := mark{onCPU: st.OnCPU, gil: st.HasGIL, at: at, cpu: st.CPUTime, wait: st.WaitTime}
	now.root, now.leaf = b.path(pid, st)
	b.chargeGap(k, prev, seen, now)
	b.last[k] = now
}

// path finds or makes the nodes of st's stack and returns its thread's
// root and its leaf; nil, nil when the stack is not recorded (an idle
// thread without Options.Idle, or one running no Python code).
func (b *Builder) path(pid int64, st *ThreadStack) (root, leaf *callgraph.Node) {
	if !b.opts.Idle && !st.OnCPU {
		return nil, nil
	}
	if !st.Dropped && len(st.Frames) == 0 {
		return nil, nil
	}
	root = b.thread(pid, st).Root
	n := root
	if st.Cut {
		// Every cut stack shares the marker, so that a deep recursion
		// sampled many times stays one tower.
		n = b.child(n, b.marker(callgraph.CutMarker(MaxDepth)), 0, 0, false)
	}
	last := len(st.Frames) - 1
	for i := range st.Frames {
		f := &st.Frames[i]
		callLine := int32(0)
		if i > 0 {
			callLine = int32(st.Frames[i-1].Line)
		}
		n = b.child(n, b.funcID(f.Code), callLine, int32(f.Line), i == last && !st.Dropped)
	}
	if st.Dropped {
		// What ran inside the frames that stood still is unknown: the
		// marker says so where it happened, or under the root.
		callLine := int32(0)
		if last >= 0 {
			callLine = int32(st.Frames[last].Line)
		}
		n = b.child(n, b.marker(droppedName), callLine, 0, true)
	}
	return root, n
}

// chargeGap shares the wall and CPU time between a thread's previous
// sample and this one out between their stacks; see Builder.
func (b *Builder) chargeGap(k threadKey, prev mark, seen bool, now mark) {
	if !seen || prev.at.IsZero() || now.at.IsZero() || !now.at.After(prev.at) {
		// The first sample stands for a period, run or slept.
		b.chargeSeen(k, now, b.period, runningWall(now, b.period))
		return
	}
	gap := now.at.Sub(prev.at)
	var over time.Duration
	if limit := max(maxGapPeriods*b.period, minGapCap); gap > limit {
		over = gap - limit
		gap = limit
	}
	if now.cpu <= 0 || prev.cpu <= 0 {
		// No clocks: halves, a running end's CPU its wall.
		b.chargeSeen(k, prev, gap/2, runningWall(prev, gap/2))
		b.chargeSeen(k, now, gap-gap/2, runningWall(now, gap-gap/2))
		b.chargeUnobserved(cmp.Or(now.root, prev.root), over, 0)
		return
	}
	cpu := max(now.cpu-prev.cpu, 0) + b.carried[k]
	delete(b.carried, k)
	wanted := min(max(cpu+now.wait-prev.wait, 0), gap)
	left := cpu
	switch {
	case prev.onCPU && !now.onCPU:
		left = b.chargeSeen(k, prev, wanted, left)
		b.chargeSeen(k, now, gap-wanted, 0)
	case !prev.onCPU && now.onCPU:
		b.chargeSeen(k, prev, gap-wanted, 0)
		left = b.chargeSeen(k, now, wanted, left)
	case prev.onCPU:
		// Running at both ends: halves. (The clocks cannot tell whether
		// it slept in between: the wait for a CPU in progress at a sample
		// is counted only once the thread gets one.)
		half := left / 2
		left -= half - b.chargeSeen(k, prev, gap/2, half)
		left = b.chargeSeen(k, now, gap-gap/2, left)
	default:
		slept := gap - wanted
		b.chargeSeen(k, prev, slept/2, 0)
		b.chargeSeen(k, now, slept-slept/2, 0)
		u := b.unseenOf(k)
		u.run += wanted
		placed := min(left, wanted)
		u.runCPU += placed
		left -= placed
	}
	// CPU time the shares above could not take, the thread's clock having
	// run over the gap they cover, goes with the gap's excess when there
	// is one. Otherwise, while the thread runs on, it is carried to the
	// next gaps: the scheduler moves a running thread's clock in steps
	// of its tick (4 ms here), so that at 1,000 samples a second most
	// gaps read no CPU time and one in four reads four gaps' worth; left
	// out, three quarters of a busy thread's CPU time went missing.
	// Otherwise the two clocks disagree and it is left out.
	placed := min(left, over)
	b.chargeUnobserved(cmp.Or(now.root, prev.root), over, placed)
	if left -= placed; left > 0 && now.onCPU {
		b.carried[k] = left
	} else {
		b.cpuUnplaced += left
	}
}

// runningWall is the CPU time of w charged to sample m without clocks:
// all of it when m ran, none when it slept.
func runningWall(m mark, w time.Duration) time.Duration {
	if m.onCPU {
		return w
	}
	return 0
}

func (b *Builder) unseenOf(k threadKey) *unseen {
	u := b.unseen[k]
	if u == nil {
		u = &unseen{seen: [2]map[*callgraph.Node]time.Duration{{}, {}}}
		b.unseen[k] = u
	}
	return u
}

// chargeSeen charges wall time w and CPU time cpu, at most w, to the stack
// of sample m, and remembers it among the thread's stacks seen running or
// sleeping. It returns the CPU time it did not charge.
func (b *Builder) chargeSeen(k threadKey, m mark, w, cpu time.Duration) time.Duration {
	if m.leaf == nil || w <= 0 {
		return cpu
	}
	b.chargeSpan(m.leaf, w, m.gil)
	placed := min(max(cpu, 0), w)
	addUp(m.leaf, callgraph.CPU, int64(placed))
	state := 0
	if m.onCPU {
		state = 1
	}
	b.unseenOf(k).seen[state][m.leaf] += w
	return cpu - placed
}

// shareUnseen shares each thread's unseen time out in proportion to the
// stacks seen in the same state, or to the unobservedName marker when none
// was.
func (b *Builder) shareUnseen() {
	for k, u := range b.unseen {
		root := b.threads[k]
		// The CPU time of the run goes with it, at most its wall there
		// as runCPU is at most run.
		for state, w := range [2]time.Duration{u.sleep, u.run} {
			cpu := time.Duration(0)
			if state == 1 {
				cpu = u.runCPU
			}
			if w <= 0 {
				continue
			}
			var total time.Duration
			for _, x := range u.seen[state] {
				total += x
			}
			if total <= 0 {
				var r *callgraph.Node
				if root != nil {
					r = root.Root
				}
				b.chargeUnobserved(r, w, cpu)
				continue
			}
			for leaf, x := range u.seen[state] {
				share := float64(x) / float64(total)
				b.chargeSpan(leaf, time.Duration(float64(w)*share), false)
				addUp(leaf, callgraph.CPU, int64(float64(cpu)*share))
			}
		}
		u.run, u.sleep, u.runCPU = 0, 0, 0
	}
}

// chargeSpan adds wall time w to leaf and every node above it, and the
// ticks it makes to their samples.
func (b *Builder) chargeSpan(leaf *callgraph.Node, w time.Duration, gil bool) {
	if leaf == nil || w <= 0 {
		return
	}
	f := b.ticks[leaf] + float64(w)/float64(b.period)
	whole := math.Round(f)
	b.ticks[leaf] = f - whole
	addUp(leaf, callgraph.Samples, int64(whole))
	addUp(leaf, callgraph.Wall, int64(w))
	if gil {
		addUp(leaf, callgraph.GIL, int64(w))
	}
}

// chargeUnobserved charges wall time w and CPU time cpu, at most w, to
// the unobservedName marker under root.
func (b *Builder) chargeUnobserved(root *callgraph.Node, w, cpu time.Duration) {
	if root == nil || w <= 0 {
		b.cpuUnplaced += cpu
		return
	}
	b.unobserved += w
	marker := b.child(root, b.marker(unobservedName), 0, 0, true)
	b.chargeSpan(marker, w, false)
	addUp(marker, callgraph.CPU, int64(cpu))
}

// addUp adds x to value v of leaf and every node above it, up to the root.
func addUp(leaf *callgraph.Node, v callgraph.Value, x int64) {
	for n := leaf; n != nil && n.Parent != nil; n = n.Parent {
		n.Total[v] += x
	}
}

func (b *Builder) thread(pid int64, st *ThreadStack) *callgraph.Thread {
	k := threadKey{pid, st.TID}
	t, ok := b.threads[k]
	if !ok {
		t = &callgraph.Thread{ID: st.TID, PID: pid, Name: st.Name, Root: &callgraph.Node{}}
		b.threads[k] = t
		b.prof.Threads = append(b.prof.Threads, t)
	}
	if t.Name == "" {
		t.Name = st.Name
	}
	return t
}

// child finds or makes the child of parent for a frame, by the identity
// callgraph gives nodes: see Builder for the keys of interior and leaf
// nodes.
func (b *Builder) child(parent *callgraph.Node, fn callgraph.FuncID, callLine, selfLine int32, leaf bool) *callgraph.Node {
	if !leaf {
		selfLine = 0
	}
	return b.children.ChildAt(parent, fn, callLine, selfLine)
}

// funcID interns the function of c by its callgraph.Func, the identity
// the trace gives it too: the same function's code may be recreated (a
// reloaded module) at another address, and its module read under another
// name (callgraph.FuncName). The *Code is looked up first: that hashes a
// pointer.
func (b *Builder) funcID(c *Code) callgraph.FuncID {
	if id, ok := b.byCode[c]; ok {
		return id
	}
	f := callgraph.Func{
		Name:      callgraph.FuncName(c.Module, c.Filename, c.Qualname),
		Filename:  c.Filename,
		StartLine: c.FirstLine,
		Kind:      callgraph.KindPython,
	}
	id, ok := b.funcs[f]
	if !ok {
		id = b.prof.AddFunc(f)
		b.funcs[f] = id
	}
	b.byCode[c] = id
	return id
}

// marker interns the marker function name.
func (b *Builder) marker(name string) callgraph.FuncID {
	id, ok := b.markers[name]
	if !ok {
		id = b.prof.AddFunc(callgraph.MarkerFunc(name))
		b.markers[name] = id
	}
	return id
}

// Profile returns the profile built so far, threads sorted by process and
// thread id. Start, Duration and Lost are left to the caller (Run fills
// them).
func (b *Builder) Profile() *callgraph.Profile {
	b.shareUnseen()
	b.prof.CPUUnplaced = b.cpuUnplaced
	for _, cpu := range b.carried {
		b.prof.CPUUnplaced += cpu
	}
	slices.SortFunc(b.prof.Threads, func(x, y *callgraph.Thread) int {
		return cmp.Or(cmp.Compare(x.PID, y.PID), cmp.Compare(x.ID, y.ID))
	})
	return b.prof
}
