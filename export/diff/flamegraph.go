package diff

import (
	"io"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/flamegraph"
)

// FlameGraph writes a differential flame graph: NEW's frames and widths,
// red where a frame's total grew since BASE and blue where it shrank (see
// package flamegraph); hovering a frame shows both values. A base frame
// is compared with the new frame of the function the text summary pairs
// it with (see match), so both views agree on what changed even when the
// sides were recorded from checkouts in different directories. The names
// in opts.Diff, when set, are kept.
func FlameGraph(w io.Writer, base, new *callgraph.Profile, opts flamegraph.Options) error {
	info := flamegraph.DiffInfo{}
	if opts.Diff != nil {
		info = *opts.Diff
	}
	info.Base, info.Match = base, matchFuncs(base, new)
	opts.Diff = &info
	return flamegraph.Write(w, new, opts)
}

// matchFuncs pairs the functions of base's call trees with new's the way
// the text summary pairs its rows, and returns the pairing as
// DiffInfo.Match wants it. A function the pairing does not know (a marker
// the graph adds itself) stands for itself.
func matchFuncs(base, new *callgraph.Profile) func(callgraph.Func) (callgraph.Func, bool) {
	same := map[funcKey]callgraph.Func{}
	alone := map[funcKey]bool{}
	for _, f := range match(identities(base), identities(new)) {
		switch {
		case f.inBase && f.inNew:
			same[f.baseKey] = f.Func
		case f.inBase:
			alone[f.baseKey] = true
		}
	}
	return func(f callgraph.Func) (callgraph.Func, bool) {
		k := keyOf(f)
		if g, ok := same[k]; ok {
			return g, true
		}
		return f, !alone[k]
	}
}

// identities returns a row for each function that p's call trees hold, in
// the order first met, with no values: what match needs to pair them.
func identities(p *callgraph.Profile) []row {
	var rows []row
	seen := map[funcKey]bool{}
	met := make([]bool, len(p.Funcs))
	for _, t := range p.Threads {
		if t.Root == nil {
			continue
		}
		t.Root.Walk(func(path []*callgraph.Node) {
			id := int(path[len(path)-1].Func)
			if id >= len(p.Funcs) || met[id] {
				return
			}
			met[id] = true
			if k := keyOf(p.Funcs[id]); !seen[k] {
				seen[k] = true
				rows = append(rows, row{fn: p.Funcs[id]})
			}
		})
	}
	return rows
}
