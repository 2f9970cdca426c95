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
