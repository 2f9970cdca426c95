package flamegraph

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// deepFolded reads a folded line of depth distinct frames.
func deepFolded(tb testing.TB, depth int) *callgraph.Profile {
	tb.Helper()
	p, err := export.ReadFolded(strings.NewReader(exporttest.DeepFolded(depth)), callgraph.Samples)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestDeepFlameGraphIsLinear pins the cost of a deep chain without timing
// it: the bytes allocated grow with the depth, not with the depth times
// the frames kept of each cut path, which every node below the cut placed
// as frames of its own.
func TestDeepFlameGraphIsLinear(t *testing.T) {
	exporttest.CheckLinear(t, "bytes allocated", func(depth int) uint64 {
		p := deepFolded(t, depth)
		return exporttest.AllocatedBytes(func() {
			if err := Write(io.Discard, p, Options{}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestCutCallsWithoutWeight checks that the calls of cut contexts that
// weigh nothing still count, on the frame their cut path shares with one
// that weighs: a recursion of 50 calls cut at 10 frames has its 40 inner
// calls on the tower's top, though only the leaf has time. The first cut
// context counts too: its cut path is one frame longer than its parent's
// whole path, which once placed it below its parent instead.
func TestCutCallsWithoutWeight(t *testing.T) {
	const depth, maxDepth = 50, 10
	f := exporttest.NewFixture(callgraph.Calls, callgraph.Wall)
	for i := 1; i < depth; i++ {
		f.Add(t, "MainThread", strings.Repeat("app.rec@2;", i-1)+"app.rec", 1, 0)
	}
	f.Add(t, "MainThread", strings.Repeat("app.rec@2;", depth-1)+"app.rec", 1, ms)
	root, err := merge(f.Profile, callgraph.Wall, Options{MaxDepth: maxDepth})
	if err != nil {
		t.Fatal(err)
	}
	fr := root.childNamed(export.CutMarkerName(maxDepth))
	for i := 0; fr != nil && i < maxDepth; i++ {
		fr = fr.childNamed("app.rec")
	}
	if fr == nil {
		t.Fatalf("no frame for the cut path:\n%s", dump(root))
	}
	if want := int64(depth - maxDepth); fr.cur.calls != want || fr.cur.total != ms {
		t.Errorf("cut tower's top has %d calls and total %d, want %d calls and total %d", fr.cur.calls, fr.cur.total, want, ms)
	}
}

func (f *frame) childNamed(name string) *frame {
	for _, c := range f.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func BenchmarkDeepFlameGraph(b *testing.B) {
	for _, depth := range exporttest.DeepDepths {
		b.Run(strconv.Itoa(depth), func(b *testing.B) {
			p := deepFolded(b, depth)
			b.ReportAllocs()
			for b.Loop() {
				if err := Write(io.Discard, p, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
