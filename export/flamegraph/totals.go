package flamegraph

import (
	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/view"
)

// sums are one profile's totals as the text views count them.
type sums struct {
	// work is the total every share is of: what pyprof report, the call
	// tree at exit and diff's summary call the total.
	work int64
	// idle is the idle waiting that view.FoldIdle put in [idle: …] frames,
	// apart from work, for a time value; calls made while waiting are
	// calls made, and count in work.
	idle int64
}

// totalsOf sums p's value v the way the text views do: each thread's
// entry frames, whose times are inclusive (calls, which are not, are
// summed over the subtree). The graph's root spans work and idle together,
// and can be a hair wider where clock skew let a callee outlast its
// caller, since widths come from self times.
func totalsOf(p *callgraph.Profile, v callgraph.Value) sums {
	var s sums
	for _, t := range p.Threads {
		if t.Root == nil {
			continue
		}
		for _, n := range t.Root.Children {
			switch {
			case v == callgraph.Calls:
				s.work += callsIn(n)
			case isIdleNode(p, n):
				s.idle += n.Total[v]
			default:
				s.work += n.Total[v]
			}
		}
	}
	return s
}

// callsIn sums the calls of n's subtree.
func callsIn(n *callgraph.Node) int64 {
	sum := n.Total[callgraph.Calls]
	for _, c := range n.Children {
		sum += callsIn(c)
	}
	return sum
}

// isIdleNode reports whether n is a frame view.FoldIdle made.
func isIdleNode(p *callgraph.Profile, n *callgraph.Node) bool {
	return int(n.Func) < len(p.Funcs) && view.IsIdle(p.Funcs[n.Func])
}
