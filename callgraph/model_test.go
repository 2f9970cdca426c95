package callgraph

import (
	"fmt"
	"strings"
	"testing"
)

// identity is one child to find or make: (function, call line, self line).
type identity struct {
	f              FuncID
	call, selfLine int32
}

// siblings renders n's children as f:call/self, in order.
func siblings(n *Node) string {
	var parts []string
	for _, c := range n.Children {
		if c.Parent != n {
			parts = append(parts, "(wrong parent)")
		}
		parts = append(parts, fmt.Sprintf("%d:%d/%d", c.Func, c.CallLine, c.SelfLine))
	}
	return strings.Join(parts, " ")
}

// TestChildIdentity makes children in the order given, through
// Node.ChildAt and through a ChildIndex, and checks that both make one
// child per identity, the node of the calls before the sampled leaves of
// its function and call line, and that Node.Child finds that node.
func TestChildIdentity(t *testing.T) {
	for _, tc := range []struct {
		name string
		adds []identity
		want string
	}{
		{"calls only", []identity{{1, 3, 0}, {2, 3, 0}, {1, 3, 0}}, "1:3/0 2:3/0"},
		{"leaf before the node of its calls", []identity{{1, 3, 5}, {1, 3, 0}}, "1:3/0 1:3/5"},
		{"two leaves of one line are one", []identity{{1, 3, 5}, {1, 3, 6}, {1, 3, 5}}, "1:3/5 1:3/6"},
		{"other call lines keep their place", []identity{{1, 4, 5}, {2, 3, 0}, {1, 3, 0}, {1, 4, 0}}, "1:4/0 1:4/5 2:3/0 1:3/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scanned, indexed := &Node{}, &Node{}
			ix := NewChildIndex()
			for _, a := range tc.adds {
				scanned.ChildAt(a.f, a.call, a.selfLine)
				ix.ChildAt(indexed, a.f, a.call, a.selfLine)
			}
			for how, n := range map[string]*Node{"ChildAt": scanned, "ChildIndex": indexed} {
				if got := siblings(n); got != tc.want {
					t.Errorf("%s made %s, want %s", how, got, tc.want)
				}
				for _, a := range tc.adds {
					if c := n.Child(a.f, a.call); c.SelfLine != 0 && n.Find(a.f, a.call, 0) != nil {
						t.Errorf("%s: Child(%d, %d) found the leaf of line %d", how, a.f, a.call, c.SelfLine)
					}
				}
			}
		})
	}
}

// TestMergeChild merges a subtree twice: every node's values add up on
// the node of its identity, and the source is left as it was.
func TestMergeChild(t *testing.T) {
	src := &Node{Func: 1, CallLine: 2, Total: [NumValues]int64{Wall: 10}}
	src.AddChild(&Node{Func: 2, CallLine: 7, SelfLine: 9, Total: [NumValues]int64{Wall: 4}})
	src.AddChild(&Node{Func: 2, CallLine: 7, Total: [NumValues]int64{Wall: 6}})
	dst := &Node{}
	dst.MergeChild(src)
	got := dst.MergeChild(src)
	if len(dst.Children) != 1 || got != dst.Children[0] || got.Total[Wall] != 20 {
		t.Fatalf("merged %s, wall %d; want one child of wall 20", siblings(dst), got.Total[Wall])
	}
	if s := siblings(got); s != "2:7/0 2:7/9" {
		t.Errorf("merged children %s, want 2:7/0 2:7/9", s)
	}
	if got.Children[0].Total[Wall] != 12 || got.Children[1].Total[Wall] != 8 || src.Total[Wall] != 10 {
		t.Errorf("walls %d %d (source %d), want 12 8 (10)", got.Children[0].Total[Wall], got.Children[1].Total[Wall], src.Total[Wall])
	}
}
