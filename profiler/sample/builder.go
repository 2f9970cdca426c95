package sample

import (
	"cmp"
	"slices"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

// funcKey identifies a function across code objects: the same function's
// code may be recreated (a reloaded module) at another address.
type funcKey struct {
	filename, qualname string
	firstLine          int
}

// threadKey identifies a thread across processes.
type threadKey struct {
	pid, tid int64
}

// childKey identifies a node among its siblings in the trees a Builder
// makes. leaf nodes are split by the line they were executing; see Builder.
type childKey struct {
	parent   *callgraph.Node
	fn       callgraph.FuncID
	callLine int32
	selfLine int32
	leaf     bool
}

// droppedName is the marker function that dropped stacks are charged to,
// under the outer frames that stood still while they were read (or the
// root), so that loss shows in every view, as Go's runtime/pprof charges
// its lost samples to a visible function.
const droppedName = "<pyprof: stack changed while read>"

// Builder aggregates snapshots into a *callgraph.Profile with values
// Samples, Wall, CPU and (when the interpreter has a GIL) GIL; each sampled
// stack adds 1 sample, its wall time, its CPU time and, if the thread held
// the GIL, its wall time again as GIL time to every node of its path.
//
// Wall time: the time since the previous snapshot of the same process,
// which is one period when sampling keeps up. A tick that comes late
// carries the ticks it missed (at most maxGapPeriods periods), so that
// missed ticks do not bias the shares: they cluster while the target is
// busy on a loaded machine, and counting one period per sample let a
// sleeping function gain 4 points of wall share in TestAccuracy.
//
// CPU time: the CPU time the thread used since its previous sample (from
// ThreadStack.CPUTime, the scheduler's count), charged to the stack seen
// now, as wall time is; except when the thread is off CPU now and was on
// CPU then: it spent that time before it went to sleep, so the previous
// stack gets it. A function that sleeps right after one that spins took
// the spinner's CPU otherwise: busy.py's nap, which sleeps 5 ms after each
// 5 ms spin, got 26-37% of the CPU at 500 Hz, now 0-11% (3 runs each).
// Where that is unknown (the thread's first sample, no schedstat) a thread
// on CPU is charged one period. Counting a period
// per 'R' sample instead overstated the CPU share of short busy functions
// by up to 10 points against the program's own thread_time() on this
// loaded 2-core machine: 'R' includes waiting for a CPU.
//
// Nodes and lines: a frame that called the next one is an interior node
// keyed, as callgraph.Node.Child keys it, by (function, CallLine), where
// CallLine is the line its caller was executing. The newest frame is a leaf
// node keyed by (function, CallLine, SelfLine), SelfLine being the line it
// was executing: a leaf node has no children and holds the time spent at
// that one line, so a function sampled at lines 12 and 14 gets two leaf
// siblings and an exporter writing "frame line = child's CallLine, leaf
// line = SelfLine" shows both lines. Interior nodes have SelfLine 0 and,
// in sampled trees, no self time. Among siblings with the same (function,
// CallLine) the interior node comes first, so Node.Child still finds it.
type Builder struct {
	opts     Options
	period   time.Duration
	prof     *callgraph.Profile
	funcs    map[funcKey]callgraph.FuncID
	byCode   map[*Code]callgraph.FuncID
	threads  map[threadKey]*callgraph.Thread
	children map[childKey]*callgraph.Node
	dropped  callgraph.FuncID
	hasDrop  bool
	cpuSeen  map[threadKey]cpuMark
	lastLeaf map[threadKey]leafMark
	lastAt   map[int64]time.Time // previous snapshot per process
}

// maxGapPeriods and minGapCap bound the wall time one sample can carry:
// a longer gap (pyprof itself stopped) is not charged to whatever runs at
// its end. The bound is never under minGapCap: on a loaded machine the
// sampler is often tens of milliseconds late, and that time is real.
const (
	maxGapPeriods = 10
	minGapCap     = 250 * time.Millisecond
)

// cpuMark is a thread's CPU time at its previous sample.
type cpuMark struct {
	cpu time.Duration
	at  time.Time
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
		funcs:    map[funcKey]callgraph.FuncID{},
		byCode:   map[*Code]callgraph.FuncID{},
		threads:  map[threadKey]*callgraph.Thread{},
		children: map[childKey]*callgraph.Node{},
		cpuSeen:  map[threadKey]cpuMark{},
		lastLeaf: map[threadKey]leafMark{},
		lastAt:   map[int64]time.Time{},
	}
}

// Add records every thread of s. pid labels the threads (Thread.PID): 0 for
// the profiled program itself, the child's pid when following children.
func (b *Builder) Add(pid int64, s *Snapshot) {
	wall := b.wallSince(pid, s.Time)
	if s.GIL {
		b.declareGIL()
	}
	for i := range s.Threads {
		b.addThread(pid, s.Time, wall, &s.Threads[i])
	}
}

// declareGIL adds the GIL value to the profile, once.
func (b *Builder) declareGIL() {
	if !b.prof.Has(callgraph.GIL) {
		b.prof.Values = append(b.prof.Values, callgraph.GIL)
	}
}

// wallSince returns the wall time a snapshot of pid taken at at stands
// for, in nanoseconds.
func (b *Builder) wallSince(pid int64, at time.Time) int64 {
	prev, ok := b.lastAt[pid]
	b.lastAt[pid] = at
	d := at.Sub(prev)
	if !ok || at.IsZero() || d <= 0 {
		return int64(b.period)
	}
	return int64(min(d, max(maxGapPeriods*b.period, minGapCap)))
}

func (b *Builder) addThread(pid int64, at time.Time, wall int64, st *ThreadStack) {
	k := threadKey{pid, st.TID}
	cpu := b.cpuSince(k, at, st)
	prev := b.lastLeaf[k]
	delete(b.lastLeaf, k)
	if !st.OnCPU && prev.onCPU && prev.leaf != nil {
		// Off CPU now and on CPU at the previous sample: the thread used
		// its CPU time before it went to sleep, on the way out of the
		// stack seen then, not in the one it sleeps in now.
		chargeCPU(prev.leaf, cpu)
		cpu = 0
	}
	if !b.opts.Idle && !st.OnCPU {
		return
	}
	if !st.Dropped && len(st.Frames) == 0 {
		return
	}
	t := b.thread(pid, st)
	n := t.Root
	last := len(st.Frames) - 1
	for i := range st.Frames {
		f := &st.Frames[i]
		callLine := int32(0)
		if i > 0 {
			callLine = int32(st.Frames[i-1].Line)
		}
		n = b.child(n, b.funcID(f.Code), callLine, int32(f.Line), i == last && !st.Dropped)
		b.charge(n, wall, cpu, st.HasGIL)
	}
	if st.Dropped {
		// What ran inside the frames that stood still is unknown: the
		// marker says so where it happened, or under the root.
		callLine := int32(0)
		if last >= 0 {
			callLine = int32(st.Frames[last].Line)
		}
		n = b.child(n, b.droppedFunc(), callLine, 0, true)
		b.charge(n, wall, cpu, st.HasGIL)
	}
	b.lastLeaf[k] = leafMark{leaf: n, onCPU: st.OnCPU}
}

// leafMark is the leaf node of a thread's previous sample, and whether the
// thread was on CPU then.
type leafMark struct {
	leaf  *callgraph.Node
	onCPU bool
}

// chargeCPU adds cpu to leaf and every node above it, up to the root.
func chargeCPU(leaf *callgraph.Node, cpu int64) {
	for n := leaf; n != nil && n.Parent != nil; n = n.Parent {
		n.Total[callgraph.CPU] += cpu
	}
}

// cpuSince returns the CPU time, in nanoseconds, that thread k used since
// its previous sample, at most the wall time between the two.
func (b *Builder) cpuSince(k threadKey, at time.Time, st *ThreadStack) int64 {
	guess := int64(0)
	if st.OnCPU {
		guess = int64(b.period)
	}
	if st.CPUTime <= 0 {
		return guess
	}
	prev, ok := b.cpuSeen[k]
	b.cpuSeen[k] = cpuMark{st.CPUTime, at}
	if !ok {
		return guess
	}
	d := max(st.CPUTime-prev.cpu, 0)
	if wall := at.Sub(prev.at); wall > 0 && d > wall {
		d = wall
	}
	return int64(d)
}

// charge adds one sample to n; its wall time counts as GIL time too when
// the thread held the GIL.
func (b *Builder) charge(n *callgraph.Node, wall, cpu int64, gil bool) {
	n.Total[callgraph.Samples]++
	n.Total[callgraph.Wall] += wall
	n.Total[callgraph.CPU] += cpu
	if gil {
		n.Total[callgraph.GIL] += wall
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

// child finds or makes the child of parent for a frame; see Builder for
// the keys of interior and leaf nodes.
func (b *Builder) child(parent *callgraph.Node, fn callgraph.FuncID, callLine, selfLine int32, leaf bool) *callgraph.Node {
	if !leaf {
		selfLine = 0
	}
	k := childKey{parent, fn, callLine, selfLine, leaf}
	if n, ok := b.children[k]; ok {
		return n
	}
	n := &callgraph.Node{Func: fn, CallLine: callLine, SelfLine: selfLine, Parent: parent}
	b.children[k] = n
	at := len(parent.Children)
	if !leaf {
		// Put the interior node before leaf siblings of the same
		// (Func, CallLine), so that Node.Child finds it.
		at = slices.IndexFunc(parent.Children, func(c *callgraph.Node) bool {
			return c.Func == fn && c.CallLine == callLine
		})
		if at < 0 {
			at = len(parent.Children)
		}
	}
	parent.Children = slices.Insert(parent.Children, at, n)
	return n
}

// funcID interns the function of c by (filename, qualname, first line),
// through the *Code first: that lookup hashes a pointer.
func (b *Builder) funcID(c *Code) callgraph.FuncID {
	if id, ok := b.byCode[c]; ok {
		return id
	}
	k := funcKey{c.Filename, c.Qualname, c.FirstLine}
	id, ok := b.funcs[k]
	if !ok {
		id = b.prof.AddFunc(callgraph.Func{
			Name:      funcName(c.Filename, c.Qualname),
			Filename:  c.Filename,
			StartLine: c.FirstLine,
			Kind:      callgraph.KindPython,
		})
		b.funcs[k] = id
	}
	b.byCode[c] = id
	return id
}

func (b *Builder) droppedFunc() callgraph.FuncID {
	if !b.hasDrop {
		b.dropped = b.prof.AddFunc(callgraph.Func{Name: droppedName, Kind: callgraph.KindMarker})
		b.hasDrop = true
	}
	return b.dropped
}

// Profile returns the profile built so far, threads sorted by process and
// thread id. Start, Duration and Lost are left to the caller (Run fills
// them).
func (b *Builder) Profile() *callgraph.Profile {
	slices.SortFunc(b.prof.Threads, func(x, y *callgraph.Thread) int {
		return cmp.Or(cmp.Compare(x.PID, y.PID), cmp.Compare(x.ID, y.ID))
	})
	return b.prof
}
