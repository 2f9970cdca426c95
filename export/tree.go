package export

import (
	"github.com/pyprof/pyprof/callgraph"
)

// treeBuilder rebuilds call trees from stacks read back from files, where
// every stack carries self values.
type treeBuilder struct {
	prof *callgraph.Profile
	// children finds a node's child without scanning its siblings: stacks
	// from other tools can give one node thousands of children.
	children *callgraph.ChildIndex
	nodes    []*callgraph.Node // scratch: the nodes of the path being added
}

func newTreeBuilder(values []callgraph.Value, def callgraph.Value) *treeBuilder {
	return &treeBuilder{
		prof:     &callgraph.Profile{Values: values, Default: def},
		children: callgraph.NewChildIndex(),
	}
}

// addThread appends an empty thread to the profile.
func (b *treeBuilder) addThread(id int64, name string, pid int64) *callgraph.Thread {
	t := &callgraph.Thread{ID: id, Name: name, PID: pid, Root: &callgraph.Node{}}
	b.prof.Threads = append(b.prof.Threads, t)
	return t
}

// addStack adds a root-first stack carrying self values to t. Each frame's
// line is where it called the next one, so it becomes the next node's call
// line; the leaf's line is its self line.
func (b *treeBuilder) addStack(t *callgraph.Thread, path []Frame, self *[callgraph.NumValues]int64) {
	if len(path) == 0 {
		return
	}
	b.nodes = b.nodes[:0]
	n := t.Root
	var callLine int32
	for _, f := range path {
		n = b.children.ChildAt(n, f.Func, callLine, 0)
		b.nodes = append(b.nodes, n)
		callLine = f.Line
	}
	if n.SelfLine == 0 {
		n.SelfLine = callLine
	}
	b.addValues(self)
}

// addValues adds self values to the leaf and, but for calls, which are not
// inclusive, to every node above it.
func (b *treeBuilder) addValues(self *[callgraph.NumValues]int64) {
	for v, x := range self {
		if x == 0 {
			continue
		}
		if callgraph.Value(v) == callgraph.Calls {
			b.nodes[len(b.nodes)-1].Total[v] += x
			continue
		}
		for _, n := range b.nodes {
			n.Total[v] += x
		}
	}
}
