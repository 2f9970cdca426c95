package view

import "github.com/pyprof/pyprof/callgraph"

// MergeLineLeaves returns p with the nodes of each function under one
// caller merged into one, for views that show a function once per caller,
// as a flame graph does: its sampled line leaves (see callgraph.Node:
// siblings of its calls' node, one per line it was found executing) and
// its calls from different lines of the caller. A summary that listed
// numbers() three times under one caller, once per line, read as three
// callees. A node that was alone keeps its lines; a merged one keeps the
// call line its nodes share, else none. p is left alone.
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

// mergeLineChildren makes kids, with the nodes of each function merged,
// the children of parent. Two nodes of one caller that are not line
// leaves and have the same call line stay apart even so: a view may keep
// one per thread on purpose (a thread group's idle frames). Nodes of
// callers that were merged merge, as their callers did.
func mergeLineChildren(parent *callgraph.Node, kids []*callgraph.Node) {
	type site struct {
		fn     callgraph.FuncID
		line   int32
		caller *callgraph.Node
	}
	var groups [][]*callgraph.Node
	at := map[callgraph.FuncID]int{} // the group of a function's first node
	hasNode := map[site]bool{}       // whether that group has a node, no leaf, of this line and caller
	for _, c := range kids {
		k := site{c.Func, c.CallLine, c.Parent}
		i, ok := at[c.Func]
		if !ok || c.SelfLine == 0 && hasNode[k] {
			groups = append(groups, nil)
			i = len(groups) - 1
			if !ok {
				at[c.Func] = i
			}
		}
		if c.SelfLine == 0 && at[c.Func] == i {
			hasNode[k] = true
		}
		groups[i] = append(groups[i], c)
	}
	for _, group := range groups {
		parent.Children = append(parent.Children, mergeGroup(parent, group))
	}
}

// mergeGroup returns one node for group, nodes of one function under
// parent, holding their sum and their children, merged in turn.
func mergeGroup(parent *callgraph.Node, group []*callgraph.Node) *callgraph.Node {
	n := &callgraph.Node{Func: group[0].Func, CallLine: group[0].CallLine, Parent: parent}
	if len(group) == 1 {
		n.SelfLine = group[0].SelfLine
	}
	var grandkids []*callgraph.Node
	for _, c := range group {
		if c.CallLine != n.CallLine {
			n.CallLine = 0 // called from several lines: no one of them
		}
		for v := range n.Total {
			n.Total[v] += c.Total[v]
		}
		grandkids = append(grandkids, c.Children...)
	}
	mergeLineChildren(n, grandkids)
	return n
}
