package diff

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
)

// Stat is one function's share of one profile.
type Stat struct {
	Flat, Cum, Calls int64
}

// Func is a function of either profile with its two stats; a function
// missing from one side has a zero Stat there.
type Func struct {
	Func      callgraph.Func // from NEW, or from BASE when it is gone
	Base, New Stat
}

// Delta returns New minus Base.
func (f Func) Delta() Stat {
	return Stat{f.New.Flat - f.Base.Flat, f.New.Cum - f.Base.Cum, f.New.Calls - f.Base.Calls}
}

// Result is the comparison of two profiles for one value.
type Result struct {
	Value callgraph.Value
	// Base and New are the profiles' totals of Value.
	Base, New int64
	// Funcs holds every function of either profile, largest absolute
	// change first: by flat, then cumulative value, then calls.
	Funcs []Func
	// HasCalls tells whether both profiles counted calls.
	HasCalls bool
}

// Compare compares the functions of base and new for v. Both profiles must
// have measured v.
func Compare(base, new *callgraph.Profile, v callgraph.Value) (*Result, error) {
	if err := sameMeasure(base, new, v); err != nil {
		return nil, err
	}
	bt, err := report.Functions(base, v, "")
	if err != nil {
		return nil, fmt.Errorf("diff: base: %w", err)
	}
	nt, err := report.Functions(new, v, "")
	if err != nil {
		return nil, fmt.Errorf("diff: new: %w", err)
	}
	r := &Result{
		Value: v, Base: bt.Total, New: nt.Total,
		Funcs:    match(bt.Rows, nt.Rows),
		HasCalls: base.Has(callgraph.Calls) && new.Has(callgraph.Calls),
	}
	slices.SortFunc(r.Funcs, byChange)
	return r, nil
}

func stat(r report.Row) Stat { return Stat{r.Flat, r.Cum, r.Calls} }

// sameMeasure refuses to compare profiles whose values v were read from
// unlike sample types, such as a CPU profile's samples and a heap
// profile's allocations read as samples: the numbers would compare, the
// comparison would mean nothing.
func sameMeasure(base, new *callgraph.Profile, v callgraph.Value) error {
	b, n := measure(base, v), measure(new, v)
	if b != n {
		return fmt.Errorf("diff: base measured %s, new %s: compare profiles of the same kind", b, n)
	}
	return nil
}

// measure names what p's values v stand for, as a pprof sample type.
func measure(p *callgraph.Profile, v callgraph.Value) string {
	if v < 0 || v >= callgraph.NumValues {
		return ""
	}
	if s := p.SourceTypes[v]; s != "" {
		return s
	}
	return v.Info().Type + "/" + v.Info().Unit
}

type exactKey struct {
	name, file string
	line       int
}

type looseKey struct {
	name, file string
}

// match pairs rows of the same function: first by name, file and def line,
// then by name and file when exactly one row of each side is left with
// them.
func match(base, new []report.Row) []Func {
	var out []Func
	exact := map[exactKey]int{}
	for i, r := range base {
		exact[exactKey{r.Func.Name, r.Func.Filename, r.Func.StartLine}] = i
	}
	used := make([]bool, len(base))
	var unmatched []report.Row
	for _, r := range new {
		if i, ok := exact[exactKey{r.Func.Name, r.Func.Filename, r.Func.StartLine}]; ok {
			used[i] = true
			out = append(out, Func{Func: r.Func, Base: stat(base[i]), New: stat(r)})
			continue
		}
		unmatched = append(unmatched, r)
	}
	var leftover []report.Row
	for i, r := range base {
		if !used[i] {
			leftover = append(leftover, r)
		}
	}
	return append(out, matchLoose(leftover, unmatched)...)
}

// matchLoose pairs the rows left over by name and file when that is
// unambiguous; the rest are functions only one side has.
func matchLoose(base, new []report.Row) []Func {
	count := map[looseKey][2]int{}
	for _, r := range base {
		k := looseKey{r.Func.Name, r.Func.Filename}
		c := count[k]
		c[0]++
		count[k] = c
	}
	for _, r := range new {
		k := looseKey{r.Func.Name, r.Func.Filename}
		c := count[k]
		c[1]++
		count[k] = c
	}
	var out []Func
	paired := map[looseKey]int{} // index in out of new's unambiguous rows
	for _, r := range new {
		k := looseKey{r.Func.Name, r.Func.Filename}
		if count[k] == [2]int{1, 1} {
			paired[k] = len(out)
		}
		out = append(out, Func{Func: r.Func, New: stat(r)})
	}
	for _, r := range base {
		if i, ok := paired[looseKey{r.Func.Name, r.Func.Filename}]; ok {
			out[i].Base = stat(r)
			continue
		}
		out = append(out, Func{Func: r.Func, Base: stat(r)})
	}
	return out
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func byChange(a, b Func) int {
	da, db := a.Delta(), b.Delta()
	return cmp.Or(
		cmp.Compare(abs(db.Flat), abs(da.Flat)),
		cmp.Compare(abs(db.Cum), abs(da.Cum)),
		cmp.Compare(abs(db.Calls), abs(da.Calls)),
		cmp.Compare(a.Func.Name, b.Func.Name),
		cmp.Compare(a.Func.Filename, b.Func.Filename),
		cmp.Compare(a.Func.StartLine, b.Func.StartLine),
	)
}
