package view

import (
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// TestMergeLineLeaves: a function found on three lines under one caller
// is one node with its calls' node, holding their sum; another function
// stays apart, and so does a second node of calls of one function.
func TestMergeLineLeaves(t *testing.T) {
	p := &callgraph.Profile{Funcs: []callgraph.Func{{Name: "main"}, {Name: "numbers"}, {Name: "other"}}}
	root := &callgraph.Node{}
	mainNode := &callgraph.Node{Func: 0, Parent: root}
	root.Children = []*callgraph.Node{mainNode}
	for _, c := range []struct {
		fn       callgraph.FuncID
		selfLine int32
		wall     int64
	}{{1, 0, 0}, {1, 4, 50}, {1, 5, 30}, {2, 9, 7}, {1, 6, 20}, {2, 0, 3}, {2, 0, 4}} {
		n := &callgraph.Node{Func: c.fn, CallLine: 3, SelfLine: c.selfLine, Parent: mainNode}
		n.Total[callgraph.Wall] = c.wall
		mainNode.Children = append(mainNode.Children, n)
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Root: root}}
	got := MergeLineLeaves(p).Threads[0].Root.Children[0].Children
	if len(got) != 3 {
		t.Fatalf("%d children, want 3 (numbers; other with its leaf; other's second node)", len(got))
	}
	if got[0].Func != 1 || got[0].Total[callgraph.Wall] != 100 || got[0].SelfLine != 0 {
		t.Errorf("numbers: %+v, want one node of wall 100 and no line", got[0])
	}
	// other's leaf came first and takes the first of its nodes; the
	// second node stays apart, as a thread group keeps one idle frame per
	// thread.
	if got[1].Func != 2 || got[1].Total[callgraph.Wall] != 10 {
		t.Errorf("other: %+v, want its leaf and first node, wall 10", got[1])
	}
	if got[2].Func != 2 || got[2].Total[callgraph.Wall] != 4 {
		t.Errorf("other's second node: %+v, want wall 4 apart", got[2])
	}
	if len(mainNode.Children) != 7 {
		t.Errorf("the input changed: %d children", len(mainNode.Children))
	}
}

// TestMergeLineLeavesMergesCallLines: a function called from three lines
// of one caller is one node, holding the calls' sum and their callees
// merged, as in a flame graph; rows that differed only by a call line the
// tree views do not show read as duplicates.
func TestMergeLineLeavesMergesCallLines(t *testing.T) {
	p := &callgraph.Profile{Funcs: []callgraph.Func{{Name: "main"}, {Name: "helper"}, {Name: "sum"}}}
	root := &callgraph.Node{}
	mainNode := &callgraph.Node{Func: 0, Parent: root}
	root.Children = []*callgraph.Node{mainNode}
	for i, line := range []int32{5, 6, 7} {
		n := &callgraph.Node{Func: 1, CallLine: line, Parent: mainNode}
		n.Total[callgraph.Calls], n.Total[callgraph.Wall] = 1, int64(10*(i+1))
		leaf := &callgraph.Node{Func: 2, CallLine: 2, Parent: n}
		leaf.Total[callgraph.Calls], leaf.Total[callgraph.Wall] = 1, int64(i+1)
		n.Children = []*callgraph.Node{leaf}
		mainNode.Children = append(mainNode.Children, n)
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Root: root}}
	got := MergeLineLeaves(p).Threads[0].Root.Children[0].Children
	if len(got) != 1 {
		t.Fatalf("%d rows of helper, want 1", len(got))
	}
	h := got[0]
	if h.Total[callgraph.Calls] != 3 || h.Total[callgraph.Wall] != 60 || h.CallLine != 0 {
		t.Errorf("helper: calls %d wall %d call line %d, want 3, 60 and no line", h.Total[callgraph.Calls], h.Total[callgraph.Wall], h.CallLine)
	}
	if len(h.Children) != 1 || h.Children[0].Total[callgraph.Calls] != 3 || h.Children[0].Total[callgraph.Wall] != 6 {
		t.Errorf("helper's callees: %d nodes, want sum once with 3 calls and wall 6", len(h.Children))
	}
}
