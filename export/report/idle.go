package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/view"
)

// IdleKind is the idle waiting of one kind (thread pool workers waiting
// for tasks, an event loop waiting for I/O) summed over threads.
type IdleKind struct {
	// Name is the idle frame's name, "[idle: ...]".
	Name    string
	Value   int64
	Threads int
}

// apart folds p's idle waiting apart for a view of v, unless keep asks for
// it where it happened. Calls are not time: a view of them is left alone.
func apart(p *callgraph.Profile, v callgraph.Value, keep bool) *callgraph.Profile {
	if keep || v == callgraph.Calls {
		return p
	}
	return view.FoldIdle(p)
}

// isIdleFrame reports whether n, a child of a thread's root, is an idle
// frame that view.FoldIdle made.
func isIdleFrame(p *callgraph.Profile, n *callgraph.Node) bool {
	return n.Parent != nil && n.Parent.Parent == nil && int(n.Func) < len(p.Funcs) && view.IsIdle(p.Funcs[n.Func])
}

// idleKinds sums the idle frames of threads by kind, heaviest first.
func idleKinds(p *callgraph.Profile, threads []*callgraph.Thread, v callgraph.Value) []IdleKind {
	var out []IdleKind
	for _, th := range threads {
		if th.Root == nil {
			continue
		}
		for _, c := range th.Root.Children {
			if !isIdleFrame(p, c) || c.Total[v] == 0 {
				continue
			}
			name := p.Funcs[c.Func].Name
			i := slices.IndexFunc(out, func(k IdleKind) bool { return k.Name == name })
			if i < 0 {
				out = append(out, IdleKind{Name: name})
				i = len(out) - 1
			}
			out[i].Value += c.Total[v]
			out[i].Threads++
		}
	}
	slices.SortStableFunc(out, func(a, b IdleKind) int { return cmp.Compare(b.Value, a.Value) })
	return out
}

// timeName says which time a view of v shows: for time values, whether
// the idle waiting of pools and event loops is in it or apart.
func timeName(v callgraph.Value, keep bool) string {
	return valueName(v) + idleSuffix(v, keep)
}

// idleSuffix is what timeName adds to the value's name.
func idleSuffix(v callgraph.Value, keep bool) string {
	switch {
	case v == callgraph.Calls:
		return ""
	case keep:
		return " (idle included)"
	}
	return " (idle apart)"
}

// gluedIdleNote is the line that shows the idle waiting kept apart, or ""
// when there was none, each kind's value and thread count glued to the
// words next to them, for a line that may wrap (see writeWrapped).
func gluedIdleNote(v callgraph.Value, kinds []IdleKind) string {
	if len(kinds) == 0 {
		return ""
	}
	var parts []string
	for _, k := range kinds {
		what := strings.TrimSuffix(strings.TrimPrefix(k.Name, view.IdlePrefix), "]")
		parts = append(parts, fmt.Sprintf("%s%s%s %s", Human(v, k.Value), glueMark, Printable(what), glue("("+plural(int64(k.Threads), "thread")+")")))
	}
	return "idle, apart from the total: " + strings.Join(parts, "; ")
}
