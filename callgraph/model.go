package callgraph

import (
	"slices"
	"time"
)

// FuncID indexes Profile.Funcs.
type FuncID uint32

// FuncKind tells what kind of code a Func stands for; exporters colour and
// name frames by it.
type FuncKind uint8

const (
	// KindPython is a Python code object.
	KindPython FuncKind = iota
	// KindNative is a callable that is not a Python function: builtins,
	// method descriptors, types and other C-implemented callables.
	KindNative
	// KindMarker is a frame pyprof adds itself to make something visible,
	// such as lost events or a stack cut at --max-depth.
	KindMarker
)

func (k FuncKind) String() string {
	switch k {
	case KindPython:
		return "python"
	case KindNative:
		return "native"
	case KindMarker:
		return "marker"
	}
	return "unknown"
}

// Func describes one function of the profile.
type Func struct {
	// Name is the display name; for Python code it ends with the
	// qualname, prefixed with the module ("json.encoder.JSONEncoder.encode"),
	// for native callables it reads like "builtins.len" or "list.append".
	Name string
	// Filename is co_filename exactly; empty for native callables.
	Filename string
	// StartLine is co_firstlineno; 0 for native callables.
	StartLine int
	Kind      FuncKind
}

// Value selects one of the quantities a Node accumulates.
type Value int

const (
	// Calls counts calls: PY_START events, or calls of a native callable.
	// A generator resumption is not a call. Calls are not inclusive.
	Calls Value = iota
	// Wall is inclusive wall-clock time in nanoseconds.
	Wall
	// CPU is inclusive on-CPU time in nanoseconds.
	CPU
	// Samples is the inclusive number of stack samples.
	Samples
	// GIL is inclusive wall time in nanoseconds sampled while the thread
	// held the GIL: next to Wall it tells a thread that runs Python from
	// one that waits for the lock (or runs native code that released it).
	GIL
	// Await is inclusive time in nanoseconds that asyncio tasks spent
	// suspended in await, from the PY_YIELD that suspended a task's
	// coroutines to the PY_RESUME that went on with them. It is charged to
	// the innermost coroutine of the chain (the one that awaited a future,
	// a sleep, a lock) and, being inclusive, counts for each coroutine
	// awaiting it. It is not wall time, which counts only the time a frame
	// is on the thread's stack: a coroutine's wall plus its await is the
	// time from its start to its return. The await time of tasks waiting at
	// once adds up, so a frame holding several tasks can show more await
	// than its wall.
	Await
	// NumValues is the number of Value kinds.
	NumValues
)

// ValueInfo names a Value the way pprof sample types are named.
type ValueInfo struct {
	Type string // "calls", "wall", "cpu", "samples"
	Unit string // "count" or "nanoseconds"
}

var valueInfo = [NumValues]ValueInfo{
	Calls:   {"calls", "count"},
	Wall:    {"wall", "nanoseconds"},
	CPU:     {"cpu", "nanoseconds"},
	Samples: {"samples", "count"},
	GIL:     {"gil", "nanoseconds"},
	Await:   {"await", "nanoseconds"},
}

// Info returns the pprof name and unit of v.
func (v Value) Info() ValueInfo { return valueInfo[v] }

// ValueByType returns the Value whose Info().Type is name.
func ValueByType(name string) (Value, bool) {
	for v, info := range valueInfo {
		if info.Type == name {
			return Value(v), true
		}
	}
	return 0, false
}

// Node is one calling context: Func called from line CallLine of the
// parent's function. Children with the same (Func, CallLine) are merged, so
// the pair identifies a child among its siblings.
type Node struct {
	Func FuncID
	// CallLine is the line of the parent's function from which this call
	// was made; 0 when unknown (a generator resumed by a for loop, or a
	// call from native code).
	CallLine int32
	// SelfLine is the line at which this frame itself was executing when it
	// was the leaf; trace mode knows no better than the def line.
	SelfLine int32
	// Total holds Calls (not inclusive) and inclusive Wall, CPU, Samples.
	Total    [NumValues]int64
	Parent   *Node
	Children []*Node
}

// Self returns the part of v spent in n itself, outside its children. For
// Calls it is n's own count.
func (n *Node) Self(v Value) int64 {
	if v == Calls {
		return n.Total[Calls]
	}
	self := n.Total[v]
	for _, c := range n.Children {
		self -= c.Total[v]
	}
	if self < 0 {
		// Clock skew between events can make children overrun their
		// parent by a few ticks; never report negative time.
		self = 0
	}
	return self
}

// Child returns the child of n for (f, callLine), creating it if needed:
// the first one, which is the node of the calls where sampled leaves of
// the same function and call line sit beside it (see ChildAt).
func (n *Node) Child(f FuncID, callLine int32) *Node {
	for _, c := range n.Children {
		if c.Func == f && c.CallLine == callLine {
			return c
		}
	}
	c := &Node{Func: f, CallLine: callLine, Parent: n}
	n.Children = append(n.Children, c)
	return c
}

// A node's identity among its siblings is (Func, CallLine, SelfLine). The
// node of a function's calls from a line has SelfLine 0; a sampled tree
// also has leaves with a SelfLine, each holding the time the function
// spent executing that line, so that an exporter can show every line.
// Every tree pyprof makes or merges has at most one child per identity,
// and the node of the calls comes before the leaves of its function and
// call line, so that Child finds it.

// Find returns n's child of identity (f, callLine, selfLine), or nil.
func (n *Node) Find(f FuncID, callLine, selfLine int32) *Node {
	for _, c := range n.Children {
		if c.Func == f && c.CallLine == callLine && c.SelfLine == selfLine {
			return c
		}
	}
	return nil
}

// ChildAt returns n's child of identity (f, callLine, selfLine), creating
// it in its place if needed.
func (n *Node) ChildAt(f FuncID, callLine, selfLine int32) *Node {
	if c := n.Find(f, callLine, selfLine); c != nil {
		return c
	}
	c := &Node{Func: f, CallLine: callLine, SelfLine: selfLine}
	n.AddChild(c)
	return c
}

// AddChild makes c a child of n, which has no child of c's identity: the
// node of calls before the sampled leaves of its function and call line,
// a leaf last.
func (n *Node) AddChild(c *Node) {
	c.Parent = n
	at := len(n.Children)
	if c.SelfLine == 0 {
		for i, s := range n.Children {
			if s.Func == c.Func && s.CallLine == c.CallLine {
				at = i
				break
			}
		}
	}
	n.Children = slices.Insert(n.Children, at, c)
}

// MergeChild adds src and its subtree among n's children, each node's
// values to those of the child of its identity, and returns n's child for
// src. src is left as it was.
func (n *Node) MergeChild(src *Node) *Node {
	d := n.ChildAt(src.Func, src.CallLine, src.SelfLine)
	for v := range d.Total {
		d.Total[v] += src.Total[v]
	}
	for _, c := range src.Children {
		d.MergeChild(c)
	}
	return d
}

// ChildIndex finds children by identity without scanning their siblings,
// for builders that add many paths: stacks read from other tools' files
// can give one node thousands of children. A child is found by the
// identity it was made with, whatever SelfLine the caller sets on it
// afterwards (a file's stack whose leaf is a frame that called others
// elsewhere).
type ChildIndex struct {
	children map[childKey]*Node
	// leaves holds the (parent, function, call line) that have sampled
	// leaves, keyed with self line 0: only there does the node of the
	// calls need looking for its place among its siblings.
	leaves map[childKey]bool
}

type childKey struct {
	parent             *Node
	fn                 FuncID
	callLine, selfLine int32
}

// NewChildIndex returns an empty index.
func NewChildIndex() *ChildIndex {
	return &ChildIndex{children: map[childKey]*Node{}, leaves: map[childKey]bool{}}
}

// Len returns the number of nodes made through the index.
func (ix *ChildIndex) Len() int { return len(ix.children) }

// ChildAt is parent.ChildAt for children made through the index.
func (ix *ChildIndex) ChildAt(parent *Node, f FuncID, callLine, selfLine int32) *Node {
	k := childKey{parent, f, callLine, selfLine}
	if c, ok := ix.children[k]; ok {
		return c
	}
	c := &Node{Func: f, CallLine: callLine, SelfLine: selfLine, Parent: parent}
	calls := childKey{parent, f, callLine, 0}
	if selfLine == 0 && ix.leaves[calls] {
		parent.AddChild(c)
	} else {
		// Where AddChild would put it, without scanning the siblings.
		parent.Children = append(parent.Children, c)
	}
	if selfLine != 0 {
		ix.leaves[calls] = true
	}
	ix.children[k] = c
	return c
}

// Walk calls fn for every node below n in depth-first order, parents before
// children, with the path from the first level below n down to the node.
// The path slice is reused between calls: copy it to keep it.
func (n *Node) Walk(fn func(path []*Node)) {
	var path []*Node
	var walk func(*Node)
	walk = func(x *Node) {
		path = append(path, x)
		fn(path)
		for _, c := range x.Children {
			walk(c)
		}
		path = path[:len(path)-1]
	}
	for _, c := range n.Children {
		walk(c)
	}
}

// Thread is the tree of one thread. Root is a synthetic node that stands
// for no function: its children are the thread's entry frames.
type Thread struct {
	// ID is the native thread id (gettid on Linux).
	ID int64
	// Name is the Python thread name ("MainThread", "worker-1").
	Name string
	// PID is the process the thread belongs to; 0 means the profiled
	// program itself.
	PID  int64
	Root *Node
}

// Profile is a whole recording: the functions and the per-thread trees.
type Profile struct {
	Funcs   []Func
	Threads []*Thread
	// Values lists the quantities this profile measured, in the order
	// exporters write them; Default is the one flame graphs and folded
	// stacks weigh by.
	Values  []Value
	Default Value
	// SourceTypes names, for a profile read from another tool's file, the
	// sample type ("type/unit") each Value was read from when that is not
	// the Value itself, such as a heap profile's alloc_space/bytes read as
	// Samples; empty otherwise. Profiles whose entries differ measured
	// different things and cannot be compared.
	SourceTypes [NumValues]string
	// Start is when recording began; Duration how long it ran.
	Start    time.Time
	Duration time.Duration
	// Period is the sampling period of sampled profiles (0 in trace mode).
	Period time.Duration
	// Lost counts events or samples that never reached the profile; a
	// marker frame makes them visible too.
	Lost int64
	// CPUUnplaced is CPU time measured that no function could be charged
	// without getting more CPU than wall time: read from the thread's
	// clock over more time than the calls that ran in between took, or
	// used outside any frame. It is left out of the CPU values.
	CPUUnplaced time.Duration
	// GILUnplaced is GIL time sampled that no traced call could be charged
	// without getting more GIL than wall time (hybrid mode: sampled
	// outside any traced call). It is left out of the GIL values.
	GILUnplaced time.Duration
	// Timeline holds the calls that lasted at least TimelineMin, when a
	// timeline was asked for, ordered by thread and start.
	Timeline    []Span
	TimelineMin time.Duration
	// Comments say how the profile was made: the tool and mode, the
	// interpreter, what was lost or waited for. pprof keeps them as its
	// comments (`go tool pprof -comments`).
	Comments []string
}

// Span is one call on the timeline.
type Span struct {
	// Thread indexes Profile.Threads.
	Thread int
	Func   FuncID
	// Start is the time since Profile.Start; Dur how long the call lasted.
	Start, Dur time.Duration
}

// AddFunc appends f and returns its id. Callers that intern functions keep
// their own index; the profile does not deduplicate.
func (p *Profile) AddFunc(f Func) FuncID {
	p.Funcs = append(p.Funcs, f)
	return FuncID(len(p.Funcs) - 1)
}

// Has reports whether the profile measured v.
func (p *Profile) Has(v Value) bool {
	for _, x := range p.Values {
		if x == v {
			return true
		}
	}
	return false
}

// Total returns the sum of v over all threads' entry frames.
func (p *Profile) Total(v Value) int64 {
	var sum int64
	for _, t := range p.Threads {
		if v == Calls {
			t.Root.Walk(func(path []*Node) { sum += path[len(path)-1].Total[Calls] })
			continue
		}
		for _, c := range t.Root.Children {
			sum += c.Total[v]
		}
	}
	return sum
}
