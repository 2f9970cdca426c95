package speedscope

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// BenchmarkDeepSpeedscope writes a folded line of 1,000 to 40,000
// distinct frames: a sample only for the leaf, whose path alone is built.
func BenchmarkDeepSpeedscope(b *testing.B) {
	for _, depth := range exporttest.DeepDepths {
		b.Run(strconv.Itoa(depth), func(b *testing.B) {
			p, err := export.ReadFolded(strings.NewReader(exporttest.DeepFolded(depth)), callgraph.Samples)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := Write(io.Discard, p, valueOpts(callgraph.Samples)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// recursion returns one thread of a function calling itself depth times,
// with one unit of self time at every level: the shape of a deep recursive
// program, where every frame below the cut has weight.
func recursion(depth int) *callgraph.Profile {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	fn := p.AddFunc(callgraph.Func{Name: "deep.recurse", Filename: "deep.py", StartLine: 1, Kind: callgraph.KindPython})
	root := &callgraph.Node{}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	n := root
	for range depth {
		n = n.Child(fn, 2)
		n.Total[callgraph.Calls] = 1
	}
	for ; n != root; n = n.Parent {
		n.Total[callgraph.Wall] = 1
		for _, c := range n.Children {
			n.Total[callgraph.Wall] += c.Total[callgraph.Wall]
		}
	}
	return p
}

// TestDeepRecursionIsLinear writes recursions 1,000 and 10,000 deep with
// weight at every level: the cut paths below the default depth are all the
// same frames and must make one sample, so the file grows with the depth,
// not with the depth times the frames kept (a 10,000-deep recursion wrote
// 36 MB of 8,000 cut samples of 2,000 frames each). Merging each cut path
// still reads its 2,000 frames, which 40,000 frames would make seconds.
func TestDeepRecursionIsLinear(t *testing.T) {
	exporttest.CheckLinearAt(t, "bytes written", []int{1_000, 10_000}, func(depth int) uint64 {
		var out countingWriter
		if err := Write(&out, recursion(depth), export.Options{}); err != nil {
			t.Fatal(err)
		}
		return uint64(out)
	})
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
