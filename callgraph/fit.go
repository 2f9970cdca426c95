package callgraph

import "time"

// fitSamplesToTrace makes the sampled CPU and GIL time merged into a traced
// profile agree with the trace's exact wall time: no node's own CPU or GIL
// time over its own wall time, so that no function shows more of either
// than of wall time. A sample stands for a whole period around it, while
// the trace knows how long each call ran: a call of 4 ms sampled once at
// 10 ms got 10 ms of CPU. What a node cannot hold ran around it, in its
// caller, which takes it (its inclusive total is left as it was); what
// even the thread's entry frames cannot hold was sampled outside any traced
// call (the interpreter starting or ending), and is counted as unplaced.
//
// A node's own time is that of the node outside its children plus that of
// its sampled leaf siblings (same function and call line, SelfLine set),
// which hold its time line by line; their wall time is the traced node's.
func (p *Profile) fitSamplesToTrace() {
	for _, th := range p.Threads {
		removed := fitChildren(th.Root)
		p.CPUUnplaced += time.Duration(removed[CPU])
		p.GILUnplaced += time.Duration(removed[GIL])
	}
}

// sampledValues are the values the sampler brings into a traced profile
// that must stay within wall time.
var sampledValues = [...]Value{CPU, GIL}

// fitChildren fits the subtrees under n, children first, and returns what
// it took off n's children, which n's own time now holds.
func fitChildren(n *Node) (removed [NumValues]int64) {
	for _, c := range n.Children {
		fitChildren(c)
	}
	for _, c := range n.Children {
		if c.SelfLine != 0 && findTraced(n, c) != nil {
			continue // fitted with its traced sibling
		}
		if c.SelfLine != 0 {
			// A leaf the trace never saw, on its own.
			for _, v := range sampledValues {
				removed[v] += c.Total[v]
				c.Total[v] = 0
			}
			continue
		}
		group := []*Node{c}
		for _, s := range n.Children {
			if s.SelfLine != 0 && s.Func == c.Func && s.CallLine == c.CallLine {
				group = append(group, s)
			}
		}
		took := fitGroup(group)
		for _, v := range sampledValues {
			removed[v] += took[v]
		}
	}
	return removed
}

// findTraced returns the sibling of leaf under n that has its function and
// call line and no SelfLine, if any.
func findTraced(n, leaf *Node) *Node {
	for _, c := range n.Children {
		if c.SelfLine == 0 && c.Func == leaf.Func && c.CallLine == leaf.CallLine {
			return c
		}
	}
	return nil
}

// fitGroup trims the own CPU and GIL time of group (a node, then its
// sampled leaf siblings) to the node's own wall time, in proportion, and
// returns what it took.
func fitGroup(group []*Node) (took [NumValues]int64) {
	node := group[0]
	var children [NumValues]int64
	for _, c := range node.Children {
		for v := range children {
			children[v] += c.Total[v]
		}
	}
	wall := max(node.Total[Wall]-children[Wall], 0)
	for _, v := range sampledValues {
		own := max(node.Total[v]-children[v], 0)
		total := own
		for _, s := range group[1:] {
			total += s.Total[v]
		}
		if total <= wall {
			continue
		}
		scale := float64(wall) / float64(total)
		kept := int64(float64(own) * scale)
		node.Total[v] = children[v] + kept
		took[v] += own - kept
		for _, s := range group[1:] {
			k := int64(float64(s.Total[v]) * scale)
			took[v] += s.Total[v] - k
			s.Total[v] = k
		}
	}
	return took
}
