package export

import (
	"fmt"
	"io"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// wideProfile is a tree fanout wide at every level, depth levels deep:
// fanout 10 and depth 5 make 111,110 nodes.
func wideProfile(fanout, depth int) *callgraph.Profile {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	for i := range fanout * depth {
		p.AddFunc(callgraph.Func{Name: "mod.f" + string(rune('a'+i%26)), Filename: "mod.py", StartLine: i + 1})
	}
	var grow func(n *callgraph.Node, level int) int64
	grow = func(n *callgraph.Node, level int) int64 {
		wall := int64(10)
		if level < depth {
			for i := range fanout {
				f := callgraph.FuncID(level*fanout + i)
				wall += grow(add(n, f, int32(i+1), int32(i+2), vals{callgraph.Calls: 1}), level+1)
			}
		}
		n.Total[callgraph.Wall] = wall
		return wall
	}
	grow(newThread(p, 1, "MainThread", 0), 0)
	return p
}

// BenchmarkWritePprof writes a profile of 111,110 nodes, and one of 31,
// a short program's: what pyprof adds to the run of a script that does
// little is mostly fixed costs such as this one's memory.
func BenchmarkWritePprof(b *testing.B) {
	for _, size := range []struct{ fanout, depth int }{{10, 5}, {2, 4}} {
		p := wideProfile(size.fanout, size.depth)
		b.Run(fmt.Sprintf("fanout=%d,depth=%d", size.fanout, size.depth), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := WritePprof(io.Discard, p, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriteFolded(b *testing.B) {
	p := wideProfile(10, 5)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteFolded(io.Discard, p, callgraph.Wall, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
