package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
)

// Row is one function of a Table.
type Row struct {
	// Func is the function; rows merge every Func of the profile with the
	// same name, file and start line, since the profile does not
	// deduplicate its table.
	Func callgraph.Func
	// Flat is the value spent in the function itself.
	Flat int64
	// Cum is the value spent in the function and its callees, counted
	// once per path so that recursion does not inflate it.
	Cum int64
	// Calls counts every call; PrimCalls only the calls made while the
	// function was not already on the stack.
	Calls, PrimCalls int64
}

// Table holds the per-function statistics of one value.
type Table struct {
	Value callgraph.Value
	// Total is the value of the selected threads as a whole, the base of
	// every share.
	Total int64
	// Rows lists every function met on the selected threads, in the
	// order first met until Sort orders them.
	Rows []Row
	// Idle holds, for a time value, the idle waiting that view.FoldIdle
	// put apart: in no row and not in Total.
	Idle []IdleKind
}

// rowKey identifies a row: two Funcs with the same key are one function.
type rowKey struct {
	name, file string
	line       int
}

func keyOf(f callgraph.Func) rowKey { return rowKey{f.Name, f.Filename, f.StartLine} }

// Functions computes the table of p for v over the threads named thread, or
// over every thread when thread is empty.
func Functions(p *callgraph.Profile, v callgraph.Value, thread string) (*Table, error) {
	if v < 0 || v >= callgraph.NumValues || !p.Has(v) {
		return nil, fmt.Errorf("report: profile has no %s values (has %s)", valueName(v), valueNames(p))
	}
	threads, err := selectThreads(p, thread)
	if err != nil {
		return nil, err
	}
	c := collector{p: p, v: v, index: map[rowKey]int{}, onPath: map[int]int{}}
	for _, t := range threads {
		if t.Root == nil {
			continue
		}
		for _, n := range t.Root.Children {
			if err := c.check(n); err != nil {
				return nil, fmt.Errorf("report: thread %d (%s): %w", t.ID, t.Name, err)
			}
			if isIdleFrame(p, n) {
				c.total += c.idleFrame(n)
				continue
			}
			c.total += c.walk(n)
		}
	}
	tab := &Table{Value: v, Total: c.total, Rows: c.rows}
	if v != callgraph.Calls {
		tab.Idle = idleKinds(p, threads, v)
	}
	return tab, nil
}

func valueName(v callgraph.Value) string {
	if v < 0 || v >= callgraph.NumValues {
		return fmt.Sprintf("value(%d)", int(v))
	}
	return v.Info().Type
}

func valueNames(p *callgraph.Profile) string {
	names := make([]string, len(p.Values))
	for i, v := range p.Values {
		names[i] = valueName(v)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// selectThreads returns the threads named name, every thread for "".
func selectThreads(p *callgraph.Profile, name string) ([]*callgraph.Thread, error) {
	if name == "" {
		return p.Threads, nil
	}
	var out []*callgraph.Thread
	var names []string
	for _, t := range p.Threads {
		if t.Name == name {
			out = append(out, t)
		}
		names = append(names, t.Name)
	}
	if len(out) == 0 {
		slices.Sort(names)
		return nil, fmt.Errorf("no thread named %q (threads: %s)", name, strings.Join(slices.Compact(names), ", "))
	}
	return out, nil
}

// collector accumulates rows over a depth-first walk of the call trees.
type collector struct {
	p      *callgraph.Profile
	v      callgraph.Value
	index  map[rowKey]int
	rows   []Row
	onPath map[int]int // row index -> frames of it on the current path
	total  int64
}

// check rejects a tree that refers to functions the profile lacks, before
// the walk indexes p.Funcs with them.
func (c *collector) check(root *callgraph.Node) error {
	var err error
	if int(root.Func) >= len(c.p.Funcs) {
		return fmt.Errorf("node refers to function %d of %d", root.Func, len(c.p.Funcs))
	}
	root.Walk(func(path []*callgraph.Node) {
		if n := path[len(path)-1]; err == nil && int(n.Func) >= len(c.p.Funcs) {
			err = fmt.Errorf("node refers to function %d of %d", n.Func, len(c.p.Funcs))
		}
	})
	return err
}

// walk adds n's subtree to the rows and returns n's inclusive value. For
// Calls, which nodes hold non-inclusively, the inclusive value is summed
// here.
func (c *collector) walk(n *callgraph.Node) int64 {
	i := c.row(n.Func)
	outermost := c.onPath[i] == 0
	c.onPath[i]++
	var children int64
	for _, ch := range n.Children {
		children += c.walk(ch)
	}
	c.onPath[i]--
	incl := n.Total[c.v]
	if c.v == callgraph.Calls {
		incl = n.Total[callgraph.Calls] + children
	}
	r := &c.rows[i]
	r.Flat += n.Self(c.v)
	r.Calls += n.Total[callgraph.Calls]
	if outermost {
		r.Cum += incl
		r.PrimCalls += n.Total[callgraph.Calls]
	}
	return incl
}

// idleFrame adds an idle frame's calls, which are calls made, to the rows
// of a table of calls, and leaves out its time, which is apart; it returns
// what it added to the total.
func (c *collector) idleFrame(n *callgraph.Node) int64 {
	if c.v != callgraph.Calls {
		return 0
	}
	var sum int64
	for _, ch := range n.Children {
		sum += c.walk(ch)
	}
	return sum
}

// row returns the index of f's row, adding the row on first sight.
func (c *collector) row(f callgraph.FuncID) int {
	fn := c.p.Funcs[f]
	k := keyOf(fn)
	if i, ok := c.index[k]; ok {
		return i
	}
	c.rows = append(c.rows, Row{Func: fn})
	c.index[k] = len(c.rows) - 1
	return len(c.rows) - 1
}
