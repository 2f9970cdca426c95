package diff

import (
	"io"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/flamegraph"
)

// FlameGraph writes a differential flame graph: NEW's frames and widths,
// red where a frame's total grew since BASE and blue where it shrank (see
// package flamegraph); hovering a frame shows both values.
func FlameGraph(w io.Writer, base, new *callgraph.Profile, opts flamegraph.Options) error {
	opts.Diff = &flamegraph.DiffInfo{Base: base}
	return flamegraph.Write(w, new, opts)
}
