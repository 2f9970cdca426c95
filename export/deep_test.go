package export

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// deepProfile reads a folded line of depth distinct frames.
func deepProfile(tb testing.TB, depth int) *callgraph.Profile {
	tb.Helper()
	p, err := ReadFolded(strings.NewReader(exporttest.DeepFolded(depth)), callgraph.Samples)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// deepWriters are the exporters of this package, writing at the default
// maximum depth, for the benchmarks.
var deepWriters = []struct {
	name  string
	write func(io.Writer, *callgraph.Profile) error
}{
	{"folded", func(w io.Writer, p *callgraph.Profile) error { return WriteFolded(w, p, callgraph.Samples, Options{}) }},
	{"pprof", func(w io.Writer, p *callgraph.Profile) error { return WritePprof(w, p, Options{}) }},
}

// TestDeepFoldedIsLinear pins the cost of writing a deep chain as folded
// stacks without timing it: the bytes allocated grow with the depth, not
// with the depth times the frames kept of each cut path, which every node
// below the cut merged into the name trie. (The pprof writer only ever
// built the paths of its samples.)
func TestDeepFoldedIsLinear(t *testing.T) {
	exporttest.CheckLinear(t, "bytes allocated", func(depth int) uint64 {
		p := deepProfile(t, depth)
		return exporttest.AllocatedBytes(func() {
			if err := WriteFolded(io.Discard, p, callgraph.Samples, Options{}); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func BenchmarkDeepStacks(b *testing.B) {
	for _, tt := range deepWriters {
		for _, depth := range exporttest.DeepDepths {
			b.Run(tt.name+"/"+strconv.Itoa(depth), func(b *testing.B) {
				p := deepProfile(b, depth)
				b.ReportAllocs()
				for b.Loop() {
					if err := tt.write(io.Discard, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
