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
// so that loss shows in every view (STYLE: runtime/pprof).
const droppedName = "<pyprof: stack changed while read>"

// Builder aggregates snapshots into a *callgraph.Profile with values
// Samples, Wall and CPU; each sampled stack adds 1 sample and one period of
// wall time (and of CPU time when the thread was on CPU) to every node of
// its path.
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
	byCode   map[*codeInfo]callgraph.FuncID
	threads  map[threadKey]*callgraph.Thread
	children map[childKey]*callgraph.Node
	dropped  callgraph.FuncID
	hasDrop  bool
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
		byCode:   map[*codeInfo]callgraph.FuncID{},
		threads:  map[threadKey]*callgraph.Thread{},
		children: map[childKey]*callgraph.Node{},
	}
}

// Add records every thread of s. pid labels the threads (Thread.PID): 0 for
// the profiled program itself, the child's pid when following children.
func (b *Builder) Add(pid int64, s *Snapshot) {
	for i := range s.Threads {
		b.addThread(pid, &s.Threads[i])
	}
}

func (b *Builder) addThread(pid int64, st *ThreadStack) {
	if !b.opts.Idle && !st.OnCPU {
		return
	}
	if !st.Dropped && len(st.Frames) == 0 {
		return
	}
	t := b.thread(pid, st)
	var cpu int64
	if st.OnCPU {
		cpu = int64(b.period)
	}
	if st.Dropped {
		n := b.child(t.Root, b.droppedFunc(), 0, 0, true)
		b.charge(n, cpu)
		return
	}
	n := t.Root
	last := len(st.Frames) - 1
	for i := range st.Frames {
		f := &st.Frames[i]
		callLine := int32(0)
		if i > 0 {
			callLine = int32(st.Frames[i-1].Line)
		}
		n = b.child(n, b.funcID(f), callLine, int32(f.Line), i == last)
		b.charge(n, cpu)
	}
}

// charge adds one sample to n.
func (b *Builder) charge(n *callgraph.Node, cpu int64) {
	n.Total[callgraph.Samples]++
	n.Total[callgraph.Wall] += int64(b.period)
	n.Total[callgraph.CPU] += cpu
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

// funcID interns the function of f by (filename, qualname, first line),
// through its decoded code object first: that lookup hashes a pointer.
func (b *Builder) funcID(f *Frame) callgraph.FuncID {
	if f.code != nil {
		if id, ok := b.byCode[f.code]; ok {
			return id
		}
	}
	k := funcKey{f.Filename, f.Qualname, f.FirstLine}
	id, ok := b.funcs[k]
	if !ok {
		id = b.prof.AddFunc(callgraph.Func{
			Name:      funcName(f.Filename, f.Qualname),
			Filename:  f.Filename,
			StartLine: f.FirstLine,
			Kind:      callgraph.KindPython,
		})
		b.funcs[k] = id
	}
	if f.code != nil {
		b.byCode[f.code] = id
	}
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
