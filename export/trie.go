package export

// pathTrie merges root-first paths of symbols (function names, pprof
// locations) into a tree with one node per distinct path. Keys are small
// (parent, symbol) structs, never joined strings: paths share prefixes, so
// the trie takes linear space where joined keys would take the square of the
// depth.
type pathTrie struct {
	nodes []trieNode
	index map[trieKey]int32
	// recent holds the symbol and node at each position of the previous
	// path: a depth-first walk's consecutive paths share their outer frames,
	// so most steps need no map lookup.
	recent     []trieStep
	recentRoot int32
	cur        int32
	same       bool // the path so far equals the previous one
}

// trieNode is one distinct path; children and siblings are linked in the
// order they were first added. 0 links to nothing: node 0 is a root.
type trieNode struct {
	sym               int32
	first, last, next int32
}

type trieKey struct {
	parent, sym int32
}

type trieStep struct {
	sym, node int32
}

// newPathTrie returns a trie with one root, node 0.
func newPathTrie() *pathTrie {
	return &pathTrie{nodes: []trieNode{{sym: -1}}, index: make(map[trieKey]int32)}
}

// newRoot adds another root, for paths that must not merge with those under
// other roots (the threads of a pprof).
func (t *pathTrie) newRoot() int32 {
	t.nodes = append(t.nodes, trieNode{sym: -1})
	return int32(len(t.nodes) - 1)
}

// start begins a path of n symbols under root.
func (t *pathTrie) start(root int32, n int) {
	if root != t.recentRoot {
		t.recent, t.recentRoot = t.recent[:0], root
	}
	// Cut recent to this path: an entry past its end belongs to an older
	// path under other parents, and growing appends zeroed entries.
	t.recent = growTo(t.recent, n)[:n]
	t.cur, t.same = root, true
}

// step moves down to symbol sym at position i of the path.
func (t *pathTrie) step(i int, sym int32) {
	if r := t.recent[i]; t.same && r.node != 0 && r.sym == sym {
		t.cur = r.node
		return
	}
	t.same = false
	t.cur = t.child(t.cur, sym)
	t.recent[i] = trieStep{sym, t.cur}
}

// node returns the node the path has reached.
func (t *pathTrie) node() int32 { return t.cur }

func (t *pathTrie) child(parent, sym int32) int32 {
	k := trieKey{parent, sym}
	if c, ok := t.index[k]; ok {
		return c
	}
	c := int32(len(t.nodes))
	t.nodes = append(t.nodes, trieNode{sym: sym})
	t.index[k] = c
	p := &t.nodes[parent]
	if p.last == 0 {
		p.first = c
	} else {
		t.nodes[p.last].next = c
	}
	p.last = c
	return c
}

// walk calls fn for every node below root, depth first, children in the
// order they were added, with the nodes from root's child down to the node.
// It does not recurse: paths can be thousands of frames deep.
func (t *pathTrie) walk(root int32, fn func(stack []int32)) {
	var stack []int32
	for c := t.nodes[root].first; c != 0; {
		stack = append(stack, c)
		fn(stack)
		if first := t.nodes[c].first; first != 0 {
			c = first
			continue
		}
		c = 0
		for c == 0 && len(stack) > 0 {
			c = t.nodes[stack[len(stack)-1]].next
			stack = stack[:len(stack)-1]
		}
	}
}
