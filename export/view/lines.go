package view

import "github.com/pyprof/pyprof/callgraph"

// MergeLineLeaves returns p with each function's sampled line leaves (see
// callgraph.Node: siblings of its calls' node, one per line it was found
// executing) merged into one node with its calls' node, for views that
// show a function once per calling context: a summary that listed
// numbers() three times under one caller, once per line, read as three
// callees. A node that was alone keeps its line. p is left alone.
func MergeLineLeaves(p *callgraph.Profile) *callgraph.Profile {
	q := *p
	q.Threads = make([]*callgraph.Thread, len(p.Threads))
	for i, th := range p.Threads {
		t := *th
		if th.Root != nil {
			t.Root = &callgraph.Node{Total: th.Root.Total, SelfLine: th.Root.SelfLine}
			mergeLineChildren(t.Root, th.Root.Children)
		}
		q.Threads[i] = &t
	}
	return &q
}

// mergeLineChildren makes kids, grouped by function and call line, the
// children of parent.
func mergeLineChildren(parent *callgraph.Node, kids []*callgraph.Node) {
	type site struct {
		fn   callgraph.FuncID
		line int32
	}
	groups := map[site][]*callgraph.Node{}
	var order []site
	for _, c := range kids {
		k := site{c.Func, c.CallLine}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range order {
		group := groups[k]
		n := &callgraph.Node{Func: k.fn, CallLine: k.line, Parent: parent}
		if len(group) == 1 {
			n.SelfLine = group[0].SelfLine
		}
		var grandkids []*callgraph.Node
		for _, c := range group {
			for v := range n.Total {
				n.Total[v] += c.Total[v]
			}
			grandkids = append(grandkids, c.Children...)
		}
		mergeLineChildren(n, grandkids)
		parent.Children = append(parent.Children, n)
	}
}
