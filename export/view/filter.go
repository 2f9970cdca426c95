package view

import (
	"regexp"

	"github.com/pyprof/pyprof/callgraph"
)

// Hide removes the frames whose function name matches re, giving their
// callees to their callers; their own time becomes their callers'.
func Hide(p *callgraph.Profile, re *regexp.Regexp) {
	hidden := matching(p, re)
	t := newTree()
	for _, th := range p.Threads {
		root := &callgraph.Node{Total: th.Root.Total}
		t.hideChildren(root, th.Root, hidden)
		th.Root = root
	}
}

func (t *tree) hideChildren(dst, src *callgraph.Node, hidden []bool) {
	for _, c := range src.Children {
		if hidden[c.Func] {
			t.hideChildren(dst, c, hidden)
			continue
		}
		n := &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Total: c.Total}
		t.hideChildren(n, c, hidden)
		t.attach(dst, n)
	}
}

// Focus keeps only the calling contexts that pass through a frame whose
// function name matches re: the matching frames with everything they
// called, and their callers, whose values become what reached the
// matching frames (their calls stay their own). Threads left empty are
// dropped.
func Focus(p *callgraph.Profile, re *regexp.Regexp) {
	focused := matching(p, re)
	var threads []*callgraph.Thread
	for _, th := range p.Threads {
		root := focusNode(th.Root, focused, false)
		if root == nil {
			continue
		}
		th.Root = root
		threads = append(threads, th)
	}
	p.Threads = threads
}

// focusNode returns the copy of n that focus keeps, or nil. Within a
// matching frame (in) everything is kept.
func focusNode(n *callgraph.Node, focused []bool, in bool) *callgraph.Node {
	isRoot := n.Parent == nil
	in = in || !isRoot && focused[n.Func]
	out := &callgraph.Node{Func: n.Func, CallLine: n.CallLine, SelfLine: n.SelfLine, Total: n.Total}
	if in {
		copyInto(out, n)
		return out
	}
	var reached [callgraph.NumValues]int64
	for _, c := range n.Children {
		k := focusNode(c, focused, false)
		if k == nil {
			continue
		}
		k.Parent = out
		out.Children = append(out.Children, k)
		for v := range reached {
			reached[v] += k.Total[v]
		}
	}
	if len(out.Children) == 0 {
		return nil
	}
	if isRoot {
		// The root stands for no function: it holds nothing of its own,
		// and readers weigh it by its children.
		out.Total = [callgraph.NumValues]int64{}
		return out
	}
	calls := out.Total[callgraph.Calls]
	out.Total = reached
	out.Total[callgraph.Calls] = calls
	return out
}

// copyInto copies n's subtree under out.
func copyInto(out, n *callgraph.Node) {
	for _, c := range n.Children {
		k := &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Total: c.Total, Parent: out}
		out.Children = append(out.Children, k)
		copyInto(k, c)
	}
}

// matching marks, by function id, the functions whose name matches re.
func matching(p *callgraph.Profile, re *regexp.Regexp) []bool {
	m := make([]bool, len(p.Funcs))
	for i, f := range p.Funcs {
		m[i] = re.MatchString(f.Name)
	}
	return m
}

// Options choose the views Apply makes.
type Options struct {
	// RawImports keeps the import machinery's own frames.
	RawImports bool
	// Hide and Focus, when set, apply Hide and Focus, hiding first.
	Hide, Focus *regexp.Regexp
	// NoMatch, when set, hears of each of Hide and Focus ("hide",
	// "focus") that matches no frame of the trees it is applied to: such a
	// view changes nothing, or keeps nothing, and should not look like a
	// profile that recorded nothing.
	NoMatch func(filter string, re *regexp.Regexp)
}

// Apply rewrites p as opts ask: imports folded unless RawImports, then
// hidden frames, then focus.
func Apply(p *callgraph.Profile, opts Options) {
	if !opts.RawImports {
		FoldImports(p)
	}
	if opts.Hide != nil {
		opts.checkMatch(p, "hide", opts.Hide)
		Hide(p, opts.Hide)
	}
	if opts.Focus != nil {
		opts.checkMatch(p, "focus", opts.Focus)
		Focus(p, opts.Focus)
	}
}

// checkMatch tells NoMatch when re matches no frame of p's trees. The
// function table is not enough: it keeps the functions that folding took
// out of the trees (the import machinery).
func (opts Options) checkMatch(p *callgraph.Profile, filter string, re *regexp.Regexp) {
	if opts.NoMatch != nil && !matchesFrame(p, re) {
		opts.NoMatch(filter, re)
	}
}

// matchesFrame reports whether a frame of p's trees is of a function whose
// name matches re.
func matchesFrame(p *callgraph.Profile, re *regexp.Regexp) bool {
	matched := matching(p, re)
	found := false
	for _, th := range p.Threads {
		if th.Root == nil {
			continue
		}
		th.Root.Walk(func(path []*callgraph.Node) {
			found = found || matched[path[len(path)-1].Func]
		})
		if found {
			return true
		}
	}
	return false
}
