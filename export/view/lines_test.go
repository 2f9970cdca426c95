package view

import (
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// TestMergeLineLeaves: a function found on three lines under one caller
// is one node holding their sum; another function stays apart, and a
// node that was alone keeps its line.
func TestMergeLineLeaves(t *testing.T) {
	p := &callgraph.Profile{Funcs: []callgraph.Func{{Name: "main"}, {Name: "numbers"}, {Name: "other"}}}
	root := &callgraph.Node{}
	mainNode := &callgraph.Node{Func: 0, Parent: root}
	root.Children = []*callgraph.Node{mainNode}
	for _, c := range []struct {
		fn       callgraph.FuncID
		selfLine int32
		wall     int64
	}{{1, 4, 50}, {1, 5, 30}, {2, 9, 7}, {1, 6, 20}} {
		n := &callgraph.Node{Func: c.fn, CallLine: 3, SelfLine: c.selfLine, Parent: mainNode}
		n.Total[callgraph.Wall] = c.wall
		mainNode.Children = append(mainNode.Children, n)
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Root: root}}
	got := MergeLineLeaves(p).Threads[0].Root.Children[0].Children
	if len(got) != 2 {
		t.Fatalf("%d children, want 2 (numbers, other)", len(got))
	}
	if got[0].Func != 1 || got[0].Total[callgraph.Wall] != 100 || got[0].SelfLine != 0 {
		t.Errorf("numbers: %+v, want one node of wall 100 and no line", got[0])
	}
	if got[1].Func != 2 || got[1].Total[callgraph.Wall] != 7 || got[1].SelfLine != 9 {
		t.Errorf("other: %+v, want wall 7 at line 9", got[1])
	}
	if len(mainNode.Children) != 4 {
		t.Errorf("the input changed: %d children", len(mainNode.Children))
	}
}
