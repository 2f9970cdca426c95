package export

import (
	"fmt"
	"slices"

	"github.com/pyprof/pyprof/callgraph"
)

// DefaultMaxDepth is the deepest path exporters write in full. CPython's own
// recursion tests reach ~20,000 frames, and writing every path of such a
// recursion in full grows with the square of the depth (a test double
// ran out of memory at ~1.2e9 frame references); 2000 frames is far more
// than anyone reads in a flame graph.
const DefaultMaxDepth = 2000

// Options tune how exporters turn call trees into stacks.
type Options struct {
	// MaxDepth is the number of innermost frames kept of a deeper path;
	// the outer frames are replaced by one marker frame named by
	// CutMarkerName, so leaf functions and their counts stay exact and the
	// cut shows. 0 means DefaultMaxDepth; a negative value keeps every path
	// whole, which is quadratic in the depth.
	MaxDepth int
	// Value is the quantity that formats showing one quantity (folded
	// stacks, flame graphs, speedscope) are weighed by; nil means the
	// profile's Default. pprof carries every quantity and ignores it.
	Value *callgraph.Value
}

func (o Options) value(p *callgraph.Profile) callgraph.Value {
	if o.Value != nil {
		return *o.Value
	}
	return p.Default
}

func (o Options) maxDepth() int {
	switch {
	case o.MaxDepth == 0:
		return DefaultMaxDepth
	case o.MaxDepth < 0:
		return int(^uint(0) >> 1)
	}
	return o.MaxDepth
}

// Frame is one entry of a root-first path: a function and the line it is at,
// the call site for every frame but the leaf, the executing line for the leaf.
type Frame struct {
	Func callgraph.FuncID
	Line int32
}

// CutMarkerName names the marker frame that stands for the outer frames an
// exporter left out of paths deeper than maxDepth (callgraph.CutMarker).
func CutMarkerName(maxDepth int) string {
	return callgraph.CutMarker(maxDepth)
}

// Visit is called by Walker.Walk for every node with the node's thread and its
// root-first path, valid only during the call.
type Visit func(t *callgraph.Thread, n *callgraph.Node, path Path)

// Path is the root-first path of the node being visited. Building a cut
// path copies its maxDepth innermost frames, and every node below the cut
// has a path of its own: building them all would take the depth times
// maxDepth, 16 million frames for a 10,000-deep chain. So a path is built
// only when Frames asks for it, and exporters ask only for the nodes they
// write; Depth, Cut and Leaf cost nothing.
type Path struct {
	w     *Walker
	depth int
}

// Depth is the node's depth in its thread's tree, 0 for an entry frame.
func (p Path) Depth() int { return p.depth }

// Cut reports whether the path is cut: Frames then starts with the marker,
// and no longer extends the path of the node's parent.
func (p Path) Cut() bool { return p.w.isCut(p.depth) }

// Leaf returns the node's own frame, the last of Frames.
func (p Path) Leaf() Frame { return p.w.full[p.depth] }

// Frames returns the path, cut to its innermost frames under a marker
// when it is too deep. The slice is reused between calls: copy it to keep
// it.
func (p Path) Frames() []Frame { return p.w.path(p.depth) }

// Walker turns every node of a profile into its root-first path of frames.
// Every exporter walks through it, so all of them show the same lines and the
// same cut markers.
type Walker struct {
	p     *callgraph.Profile
	funcs []callgraph.Func
	// marker is the cut marker's id, 0 until a path is cut: it comes after
	// p.Funcs, which a path needs at least one of, so 0 is never its id.
	marker   callgraph.FuncID
	maxDepth int

	full    []Frame   // the whole path of the current node
	view    []Frame   // the path shown when full is cut
	pending []pending // nodes still to visit, depth first
}

type pending struct {
	node  *callgraph.Node
	depth int
}

// NewWalker returns a Walker over p. It never modifies p: the cut marker goes
// to the Walker's own copy of the function table.
func NewWalker(p *callgraph.Profile, opts Options) *Walker {
	return &Walker{
		p:        p,
		funcs:    slices.Clip(p.Funcs), // appending the marker must not write into p.Funcs
		maxDepth: opts.maxDepth(),
	}
}

// Func returns the function id stands for, the cut marker included.
func (w *Walker) Func(id callgraph.FuncID) callgraph.Func { return w.funcs[id] }

// Funcs returns the profile's functions followed by the cut marker once the
// walk has cut a path.
func (w *Walker) Funcs() []callgraph.Func { return w.funcs }

// Walk calls fn for every node of every thread, threads in profile order,
// parents before children, children in order. It fails on a node whose
// function is not in the profile's table.
func (w *Walker) Walk(fn Visit) error {
	for _, t := range w.p.Threads {
		if t.Root == nil {
			continue
		}
		if err := w.walkThread(t, fn); err != nil {
			return fmt.Errorf("thread %d (%s): %w", t.ID, t.Name, err)
		}
	}
	return nil
}

// walkThread walks without recursion: Python can recurse far deeper than is
// comfortable for a recursive Go walk over millions of nodes.
func (w *Walker) walkThread(t *callgraph.Thread, fn Visit) error {
	w.pending = pushChildren(w.pending[:0], t.Root, 0)
	for len(w.pending) > 0 {
		top := w.pending[len(w.pending)-1]
		w.pending = w.pending[:len(w.pending)-1]
		if err := w.enter(top.node, top.depth); err != nil {
			return err
		}
		fn(t, top.node, Path{w, top.depth})
		w.pending = pushChildren(w.pending, top.node, top.depth+1)
	}
	return nil
}

// pushChildren pushes n's children last first so that they pop in order.
func pushChildren(stack []pending, n *callgraph.Node, depth int) []pending {
	for i := len(n.Children) - 1; i >= 0; i-- {
		stack = append(stack, pending{n.Children[i], depth})
	}
	return stack
}

// enter records n at depth in the full path. The parent's frame takes n's
// call line: the parent's own visit is already over, and each later child
// rewrites it again.
func (w *Walker) enter(n *callgraph.Node, depth int) error {
	if int(n.Func) >= len(w.p.Funcs) {
		return fmt.Errorf("node refers to function %d of %d", n.Func, len(w.p.Funcs))
	}
	w.full = append(w.full[:depth], Frame{n.Func, w.lineOr(n.SelfLine, n.Func)})
	if depth > 0 {
		parent := &w.full[depth-1]
		parent.Line = w.lineOr(n.CallLine, parent.Func)
	}
	return nil
}

// lineOr returns line, or the function's def line when line is unknown (a
// frame entered before recording began, or by an agent that could not read
// its caller's frame).
func (w *Walker) lineOr(line int32, f callgraph.FuncID) int32 {
	if line != 0 {
		return line
	}
	return int32(w.funcs[f].StartLine)
}

// path returns the path of the node at depth, cut to its innermost frames
// under a marker when it is too deep. A path that already starts with a
// marker (a cut read back from a file, or lost events) may be one frame
// longer, so cutting twice changes nothing.
func (w *Walker) path(depth int) []Frame {
	full := w.full[:depth+1]
	if !w.isCut(depth) {
		return full
	}
	w.view = append(w.view[:0], Frame{Func: w.cutMarker()})
	w.view = append(w.view, full[len(full)-w.maxDepth:]...)
	return w.view
}

// isCut reports whether the path of the node at depth is cut.
func (w *Walker) isCut(depth int) bool {
	n := depth + 1
	return n > w.maxDepth && !(n == w.maxDepth+1 && w.isMarker(w.full[0].Func))
}

func (w *Walker) isMarker(f callgraph.FuncID) bool {
	return w.funcs[f].Kind == callgraph.KindMarker
}

// cutMarker returns the cut marker function, adding it on first use.
func (w *Walker) cutMarker() callgraph.FuncID {
	if w.marker == 0 {
		w.funcs = append(w.funcs, callgraph.MarkerFunc(callgraph.CutMarker(w.maxDepth)))
		w.marker = callgraph.FuncID(len(w.funcs) - 1)
	}
	return w.marker
}
