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

// mergeLineChildren makes kids, with each line leaf merged into the node
// of its function and call line, the children of parent. Two nodes that
// are not line leaves stay apart even so: a view may keep one per thread
// on purpose (a thread group's idle frames).
func mergeLineChildren(parent *callgraph.Node, kids []*callgraph.Node) {
	type site struct {
		fn   callgraph.FuncID
		line int32
	}
	var groups [][]*callgraph.Node
	at := map[site]int{}       // the group of a site's leaves and first node
	hasNode := map[site]bool{} // whether that group has a node that is no leaf
	for _, c := range kids {
		k := site{c.Func, c.CallLine}
		i, ok := at[k]
		if !ok || c.SelfLine == 0 && hasNode[k] {
			groups = append(groups, nil)
			i = len(groups) - 1
			if !ok {
				at[k] = i
			}
		}
		if c.SelfLine == 0 && at[k] == i {
			hasNode[k] = true
		}
		groups[i] = append(groups[i], c)
	}
	for _, group := range groups {
		n := &callgraph.Node{Func: group[0].Func, CallLine: group[0].CallLine, Parent: parent}
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
