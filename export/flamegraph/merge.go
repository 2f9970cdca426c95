package flamegraph

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/view"
)

// kind extends callgraph.FuncKind with the frames the graph adds itself.
type kind uint8

const (
	kindPython kind = kind(callgraph.KindPython)
	kindNative kind = kind(callgraph.KindNative)
	kindMarker kind = kind(callgraph.KindMarker)
	kindRoot   kind = 10
	kindThread kind = 11
)

// amounts are one profile's values for a frame.
type amounts struct {
	self, total, calls int64
}

// frame is a node of the merged tree: every calling context of the same
// function under the same merged parent, from every thread.
type frame struct {
	fn         int32 // the merger's index of the function
	name, file string
	line       int
	kind       kind
	cur, base  amounts // base stays zero without a diff
	children   []*frame
	index      map[int32]*frame // children by fn, once there are many
}

// funcKey identifies a function across profiles: two functions are the
// same frame when name, file and kind agree, whatever line they were
// called from. The kind keeps a thread's frame apart from a function that
// happens to share its name; baseOnly keeps a base function that the diff
// found no counterpart for apart from the new functions.
type funcKey struct {
	name, file string
	kind       callgraph.FuncKind
	baseOnly   bool
}

// merger builds the merged tree from one or two profiles.
type merger struct {
	root    *frame
	threads bool // one level per thread below the root
	funcs   []callgraph.Func
	index   map[funcKey]int32
	// match pairs the diff base's functions with the new profile's
	// (DiffInfo.Match); nil pairs them by name and file.
	match func(callgraph.Func) (callgraph.Func, bool)
}

func newMerger(threads bool) *merger {
	return &merger{
		root:    &frame{name: "all", kind: kindRoot},
		threads: threads,
		index:   map[funcKey]int32{},
	}
}

// threadLevel reports whether the profiles hold more than one thread tower.
func threadLevel(profiles ...*callgraph.Profile) bool {
	seen := map[string]bool{}
	for _, p := range profiles {
		for _, t := range p.Threads {
			seen[threadLabel(t)] = true
		}
	}
	return len(seen) > 1
}

func threadLabel(t *callgraph.Thread) string {
	name := t.Name
	if name == "" {
		name = fmt.Sprintf("thread %d", t.ID)
	}
	if t.PID != 0 {
		name = fmt.Sprintf("%s (pid %d)", name, t.PID)
	}
	return name
}

// intern returns the merger's index of f, the first Func seen with f's name
// and file.
func (m *merger) intern(f callgraph.Func) int32 {
	return m.internKey(f, funcKey{name: f.Name, file: f.Filename, kind: f.Kind})
}

// internBase returns the merger's index of the diff base's function f:
// the index of the new function it is, or one of its own when it has none.
func (m *merger) internBase(f callgraph.Func) int32 {
	if m.match == nil {
		return m.intern(f)
	}
	same, ok := m.match(f)
	if !ok {
		return m.internKey(f, funcKey{name: f.Name, file: f.Filename, kind: f.Kind, baseOnly: true})
	}
	return m.intern(same)
}

func (m *merger) internKey(f callgraph.Func, k funcKey) int32 {
	if i, ok := m.index[k]; ok {
		return i
	}
	m.funcs = append(m.funcs, f)
	m.index[k] = int32(len(m.funcs) - 1)
	return int32(len(m.funcs) - 1)
}

// child returns parent's child for the function with merger index fn,
// creating it on first use.
func (m *merger) child(parent *frame, fn int32) *frame {
	if c := parent.child(fn); c != nil {
		return c
	}
	f := m.funcs[fn]
	c := &frame{fn: fn, name: f.Name, file: f.Filename, line: f.StartLine, kind: kind(f.Kind)}
	parent.children = append(parent.children, c)
	if parent.index != nil {
		parent.index[fn] = c
	}
	return c
}

// indexAbove is the number of children above which a frame indexes them
// in a map. Most frames have a few children and a short scan beats hashing;
// one map for every (parent, function) pair of a million-node profile spent
// most of Write's time growing (measured: 1.2M entries, 40% of CPU).
const indexAbove = 8

func (f *frame) child(fn int32) *frame {
	if f.index != nil {
		return f.index[fn]
	}
	for _, c := range f.children {
		if c.fn == fn {
			return c
		}
	}
	if len(f.children) > indexAbove {
		f.index = make(map[int32]*frame, 2*len(f.children))
		for _, c := range f.children {
			f.index[c.fn] = c
		}
	}
	return nil
}

func (m *merger) top(t *callgraph.Thread) *frame {
	if !m.threads {
		return m.root
	}
	return m.child(m.root, m.intern(callgraph.Func{Name: threadLabel(t), Kind: callgraph.FuncKind(kindThread)}))
}

// add merges the self values of every node of p into the tree: totals are
// summed bottom-up afterwards, which keeps them consistent with cut paths
// and with clamped self times. Paths come from the shared export walker, so
// the graph cuts deep recursion exactly where the other formats do.
//
// A whole path goes one frame below its parent's. A cut path is placed from
// the top, frame by frame, so placing every node below the cut took the
// depth times the cut's frames, in time and in frames (2.5 GB for a
// 10,000-deep chain of distinct functions). A cut path is placed only when
// it weighs something: one that weighs nothing is never drawn and only
// adds its calls to a frame that weighed paths made, which a second walk
// finds without making frames.
func (m *merger) add(p *callgraph.Profile, v callgraph.Value, opts export.Options, base bool) error {
	pl := &placer{m: m, w: export.NewWalker(p, opts), intern: m.intern}
	if base {
		pl.intern = m.internBase
	}
	amountsOf := func(fr *frame) *amounts {
		if base {
			return &fr.base
		}
		return &fr.cur
	}
	weightless := 0 // cut paths that weigh nothing but made calls
	err := pl.w.Walk(func(t *callgraph.Thread, n *callgraph.Node, path export.Path) {
		self, calls := n.Self(v), n.Total[callgraph.Calls]
		if path.Cut() && self == 0 {
			if calls != 0 {
				weightless++
			}
			return
		}
		a := amountsOf(pl.place(t, path))
		a.self += self
		a.calls += calls
	})
	if err != nil || weightless == 0 {
		return err
	}
	return pl.w.Walk(func(t *callgraph.Thread, n *callgraph.Node, path export.Path) {
		if calls := n.Total[callgraph.Calls]; calls != 0 && path.Cut() && n.Self(v) == 0 {
			if fr := pl.find(t, path.Frames()); fr != nil {
				amountsOf(fr).calls += calls
			}
		}
	})
}

// placer finds the frame of each node of one walk.
type placer struct {
	m      *merger
	w      *export.Walker
	intern func(callgraph.Func) int32 // the merger's index of a function of the walked profile
	canon  []int32                    // walker function id -> merger index, -1 until met
	// whole holds the frame of each whole path from the thread's top down
	// to the node being placed: a depth-first walk visits a node's
	// ancestors before it and their other descendants before its own.
	whole []*frame
	t     *callgraph.Thread
	top   *frame // the frame t's entry frames go under
}

// place returns the frame of the node at path, making it on first use.
// A whole path's frame is a child of its parent's; a cut path is placed
// from the top.
func (pl *placer) place(t *callgraph.Thread, path export.Path) *frame {
	pl.enterThread(t)
	if path.Cut() {
		fr := pl.top
		for _, f := range path.Frames() {
			fr = pl.m.child(fr, pl.fn(f.Func))
		}
		return fr
	}
	parent := pl.top
	if d := path.Depth(); d > 0 {
		parent = pl.whole[d-1]
	}
	fr := pl.m.child(parent, pl.fn(path.Leaf().Func))
	pl.whole = append(pl.whole[:path.Depth()], fr)
	return fr
}

// find returns the frame of frames below t's top, or nil when no path
// made it.
func (pl *placer) find(t *callgraph.Thread, frames []export.Frame) *frame {
	pl.enterThread(t)
	fr := pl.top
	for _, f := range frames {
		if fr = fr.child(pl.fn(f.Func)); fr == nil {
			return nil
		}
	}
	return fr
}

func (pl *placer) enterThread(t *callgraph.Thread) {
	if t != pl.t {
		pl.t, pl.top, pl.whole = t, pl.m.top(t), pl.whole[:0]
	}
}

func (pl *placer) fn(id callgraph.FuncID) int32 {
	for int(id) >= len(pl.canon) {
		pl.canon = append(pl.canon, -1)
	}
	if pl.canon[id] < 0 {
		pl.canon[id] = pl.intern(pl.w.Func(id))
	}
	return pl.canon[id]
}

// sum sets every total to self plus the children's totals and orders the
// children by name, the way flamegraph.pl does, so the picture does not
// depend on the order the profile met its functions.
func (f *frame) sum() {
	f.cur.total, f.base.total = f.cur.self, f.base.self
	for _, c := range f.children {
		c.sum()
		f.cur.total += c.cur.total
		f.base.total += c.base.total
	}
	slices.SortFunc(f.children, func(a, b *frame) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.file, b.file))
	})
}

// role is what a frame stands for, which decides what hovering it says.
// The script knows the roles by these numbers.
type role uint8

const (
	roleCode   role = iota // a function: calls, self and total
	roleRoot               // "all": the whole
	roleThread             // a thread's tower
	roleMarker             // a frame pyprof made, which counts no calls of its own
	roleIdle               // an [idle: …] frame: waiting for work, not a function
)

func roleOf(f *frame) role {
	switch {
	case f.kind == kindRoot:
		return roleRoot
	case f.kind == kindThread:
		return roleThread
	case isIdleFrame(f):
		return roleIdle
	case f.kind == kindMarker:
		return roleMarker
	}
	return roleCode
}

// isIdleFrame reports whether f is a frame view.FoldIdle made to hold
// the idle waiting of pools and event loops.
func isIdleFrame(f *frame) bool {
	return f.kind == kindMarker && strings.HasPrefix(f.name, view.IdlePrefix)
}
