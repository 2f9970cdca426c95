package view

import "github.com/pyprof/pyprof/callgraph"

// tree builds a call tree from nodes, merging siblings that stand for the
// same calling context. An index finds a sibling at once: trees read from
// other tools' files can give one node thousands of children.
type tree struct {
	index map[siblingKey]*callgraph.Node
}

type siblingKey struct {
	parent             *callgraph.Node
	fn                 callgraph.FuncID
	callLine, selfLine int32
}

func newTree() *tree { return &tree{index: map[siblingKey]*callgraph.Node{}} }

// attach adds n as a child of parent, merging it into a sibling that
// stands for the same function called from the same line. n's children
// must have been attached to it by t too.
func (t *tree) attach(parent, n *callgraph.Node) {
	k := siblingKey{parent, n.Func, n.CallLine, n.SelfLine}
	if c, ok := t.index[k]; ok {
		t.merge(c, n)
		return
	}
	n.Parent = parent
	parent.Children = append(parent.Children, n)
	t.index[k] = n
}

// merge adds src's values and children into dst.
func (t *tree) merge(dst, src *callgraph.Node) {
	for v := range dst.Total {
		dst.Total[v] += src.Total[v]
	}
	for _, c := range src.Children {
		t.attach(dst, c)
	}
}

// forget drops c, which the caller takes from parent's children, from
// the index.
func (t *tree) forget(parent, c *callgraph.Node) {
	delete(t.index, siblingKey{parent, c.Func, c.CallLine, c.SelfLine})
	c.Parent = nil
}
