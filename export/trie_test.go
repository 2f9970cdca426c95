package export

import (
	"fmt"
	"strings"
	"testing"
)

func TestPathTrie(t *testing.T) {
	tests := []struct {
		name  string
		paths [][]int32
		want  string // every distinct path, depth first, with its node
	}{
		{
			name:  "shared prefixes merge",
			paths: [][]int32{{1}, {1, 2}, {1, 2}, {1, 3}, {4}},
			want:  "1=1 1,2=2 1,3=3 4=4",
		},
		{
			// A shorter path in between must not let the longer one
			// after it reuse the first one's deeper node.
			name:  "cache does not leak across parents",
			paths: [][]int32{{1, 2, 3}, {4, 5}, {4, 5, 3}},
			want:  "1=1 1,2=2 1,2,3=3 4=4 4,5=5 4,5,3=6",
		},
		{
			name:  "children keep first-seen order",
			paths: [][]int32{{9, 8}, {9, 1}, {9, 8, 7}},
			want:  "9=1 9,8=2 9,8,7=4 9,1=3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trie := newPathTrie()
			for _, path := range tt.paths {
				trie.start(0, len(path))
				for i, sym := range path {
					trie.step(i, sym)
				}
			}
			var got []string
			trie.walk(0, func(stack []int32) {
				syms := make([]string, len(stack))
				for i, n := range stack {
					syms[i] = fmt.Sprint(trie.nodes[n].sym)
				}
				got = append(got, fmt.Sprintf("%s=%d", strings.Join(syms, ","), stack[len(stack)-1]))
			})
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("trie holds %s, want %s", s, tt.want)
			}
		})
	}
}

func TestPathTrieRootsStayApart(t *testing.T) {
	trie := newPathTrie()
	a, b := trie.newRoot(), trie.newRoot()
	var nodes []int32
	for _, root := range []int32{a, b, a} {
		trie.start(root, 2)
		trie.step(0, 1)
		trie.step(1, 2)
		nodes = append(nodes, trie.node())
	}
	if nodes[0] == nodes[1] || nodes[0] != nodes[2] {
		t.Errorf("nodes %v: want the same path under two roots apart, under one root merged", nodes)
	}
}
