package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
)

// Stat is one function's share of one profile, or of one side's runs.
type Stat struct {
	Flat, Cum, Calls int64
}

// Func is a function of either side with its two stats; a function
// missing from one side has a zero Stat there. With several runs a side,
// Base and New are the medians of the runs and the spreads how far the
// runs of each side lay apart (the largest value minus the smallest).
type Func struct {
	Func                  callgraph.Func // from NEW, or from BASE when it is gone
	Base, New             Stat
	BaseSpread, NewSpread Stat
	// baseKey and newKey name the function within each side, whose
	// files may lie in different places; inBase and inNew tell which
	// sides have it.
	baseKey, newKey funcKey
	inBase, inNew   bool
}

// Delta returns New minus Base.
func (f Func) Delta() Stat {
	return Stat{f.New.Flat - f.Base.Flat, f.New.Cum - f.Base.Cum, f.New.Calls - f.Base.Calls}
}

// Result is the comparison of two sides for one value.
type Result struct {
	Value callgraph.Value
	// Base and New are the sides' totals of Value (medians of the runs);
	// BaseSpread and NewSpread how far the runs' totals lay apart.
	Base, New             int64
	BaseSpread, NewSpread int64
	// BaseRuns and NewRuns count the profiles of each side.
	BaseRuns, NewRuns int
	// Funcs holds every function of either side, largest absolute
	// change first: by flat, then cumulative value, then calls.
	Funcs []Func
	// HasCalls tells whether both sides counted calls.
	HasCalls bool
	// calls holds, for each function (by index in Funcs), how often it
	// called each callee on each side; it tells a function that makes
	// more calls from one called more often.
	edgeCalls map[edge]sidesCount
}

// edge is a caller and a callee, by index in Result.Funcs.
type edge struct{ caller, callee int }

// sidesCount is one amount on both sides.
type sidesCount struct{ Base, New int64 }

// Compare compares the functions of base and new for v. Both profiles must
// have measured v.
func Compare(base, new *callgraph.Profile, v callgraph.Value) (*Result, error) {
	return CompareRuns([]*callgraph.Profile{base}, []*callgraph.Profile{new}, v)
}

// CompareRuns compares two sides of one or more runs each, every profile
// a recording of the same program: each function's values are the medians
// of its side's runs, and the spread of the runs is the noise the gate
// allows. Every profile must have measured v.
func CompareRuns(base, new []*callgraph.Profile, v callgraph.Value) (*Result, error) {
	if len(base) == 0 || len(new) == 0 {
		return nil, fmt.Errorf("want at least one profile a side, got %d and %d", len(base), len(new))
	}
	for _, p := range slices.Concat(base[1:], new) {
		if err := sameMeasure(base[0], p, v); err != nil {
			return nil, err
		}
	}
	if err := haveValue("base", base, v); err != nil {
		return nil, err
	}
	if err := haveValue("new", new, v); err != nil {
		return nil, err
	}
	b, err := summarize(base, v)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	n, err := summarize(new, v)
	if err != nil {
		return nil, fmt.Errorf("new: %w", err)
	}
	r := &Result{
		Value: v, Base: b.total, New: n.total, BaseSpread: b.totalSpread, NewSpread: n.totalSpread,
		BaseRuns: len(base), NewRuns: len(new),
		Funcs:    match(b.rows, n.rows),
		HasCalls: b.hasCalls && n.hasCalls,
	}
	slices.SortFunc(r.Funcs, byChange)
	r.edgeCalls = pairEdges(r.Funcs, b.edges, n.edges)
	return r, nil
}

// haveValue refuses a side with a run that never measured v, saying what
// it measured instead.
func haveValue(side string, runs []*callgraph.Profile, v callgraph.Value) error {
	for _, p := range runs {
		if p.Has(v) {
			continue
		}
		names := make([]string, len(p.Values))
		for i, x := range p.Values {
			names[i] = x.Info().Type
		}
		return fmt.Errorf("%s has no %s values (it has %s)", side, v.Info().Type, strings.Join(names, ", "))
	}
	return nil
}

// sameMeasure refuses to compare profiles whose values v were read from
// unlike sample types, such as a CPU profile's samples and a heap
// profile's allocations read as samples: the numbers would compare, the
// comparison would mean nothing.
func sameMeasure(base, new *callgraph.Profile, v callgraph.Value) error {
	if measure(base, v) != measure(new, v) {
		return fmt.Errorf("base measured %s, new %s: compare profiles of the same kind", measured(base, v), measured(new, v))
	}
	return nil
}

// measured names what p measured for the message about unlike profiles:
// what its values v stand for, or, when p has no values v at all (a wall
// profile diffed for samples), the sample types it does have, which are
// what the user gave it.
func measured(p *callgraph.Profile, v callgraph.Value) string {
	if p.Has(v) || len(p.Values) == 0 {
		return measure(p, v)
	}
	names := make([]string, len(p.Values))
	for i, x := range p.Values {
		names[i] = measure(p, x)
	}
	return strings.Join(names, " and ")
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

// funcKey identifies a function within one side, whose runs recorded the
// same code at the same place.
type funcKey struct {
	name, file string
	line       int
}

func keyOf(f callgraph.Func) funcKey { return funcKey{f.Name, f.Filename, f.StartLine} }

// side is one side's runs summarized: a row per function with the medians
// of its runs, and the calls each function made of each other.
type side struct {
	rows               []row
	edges              map[[2]funcKey]int64
	total, totalSpread int64
	hasCalls           bool
}

// row is one function of a side.
type row struct {
	fn             callgraph.Func
	median, spread Stat
}

// summarize reads each run's table of v and its calls between functions,
// and keeps the median and the spread of each amount.
func summarize(runs []*callgraph.Profile, v callgraph.Value) (*side, error) {
	s := &side{hasCalls: true, edges: map[[2]funcKey]int64{}}
	perFunc := map[funcKey][]Stat{}
	var order []callgraph.Func
	var totals []int64
	edges := map[[2]funcKey][]int64{}
	for i, p := range runs {
		t, err := report.Functions(p, v, "")
		if err != nil {
			return nil, err
		}
		totals = append(totals, t.Total)
		s.hasCalls = s.hasCalls && p.Has(callgraph.Calls)
		for _, r := range t.Rows {
			k := keyOf(r.Func)
			if _, ok := perFunc[k]; !ok {
				order = append(order, r.Func)
				perFunc[k] = make([]Stat, len(runs))
			}
			perFunc[k][i] = Stat{r.Flat, r.Cum, r.Calls}
		}
		for e, n := range callsBetween(p) {
			if _, ok := edges[e]; !ok {
				edges[e] = make([]int64, len(runs))
			}
			edges[e][i] = n
		}
	}
	s.total, s.totalSpread = medianSpread(totals)
	for _, f := range order {
		s.rows = append(s.rows, summarizeRow(f, perFunc[keyOf(f)]))
	}
	for e, ns := range edges {
		s.edges[e], _ = medianSpread(ns)
	}
	return s, nil
}

func summarizeRow(f callgraph.Func, runs []Stat) row {
	pick := func(get func(Stat) int64) (int64, int64) {
		xs := make([]int64, len(runs))
		for i, s := range runs {
			xs[i] = get(s)
		}
		return medianSpread(xs)
	}
	r := row{fn: f}
	r.median.Flat, r.spread.Flat = pick(func(s Stat) int64 { return s.Flat })
	r.median.Cum, r.spread.Cum = pick(func(s Stat) int64 { return s.Cum })
	r.median.Calls, r.spread.Calls = pick(func(s Stat) int64 { return s.Calls })
	return r
}

// medianSpread returns the median of xs (the mean of the middle two for
// an even count) and its largest value minus its smallest.
func medianSpread(xs []int64) (median, spread int64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0, 0
	}
	median = s[n/2]
	if n%2 == 0 {
		median = s[n/2-1] + (s[n/2]-s[n/2-1])/2
	}
	return median, s[n-1] - s[0]
}

// callsBetween counts, over every thread of p, the calls each function
// made of each other, from the calls of each calling context.
func callsBetween(p *callgraph.Profile) map[[2]funcKey]int64 {
	out := map[[2]funcKey]int64{}
	if !p.Has(callgraph.Calls) {
		return out
	}
	for _, t := range p.Threads {
		if t.Root == nil {
			continue
		}
		t.Root.Walk(func(path []*callgraph.Node) {
			if len(path) < 2 {
				return
			}
			caller, callee := path[len(path)-2], path[len(path)-1]
			if int(caller.Func) >= len(p.Funcs) || int(callee.Func) >= len(p.Funcs) {
				return // report.Functions has refused such a profile already
			}
			out[[2]funcKey{keyOf(p.Funcs[caller.Func]), keyOf(p.Funcs[callee.Func])}] += callee.Total[callgraph.Calls]
		})
	}
	return out
}

// pairEdges turns each side's calls between functions into calls between
// the matched functions of funcs.
func pairEdges(funcs []Func, base, new map[[2]funcKey]int64) map[edge]sidesCount {
	// Each side names functions by its own keys.
	baseIndex, newIndex := map[funcKey]int{}, map[funcKey]int{}
	for i, f := range funcs {
		if f.inBase {
			baseIndex[f.baseKey] = i
		}
		if f.inNew {
			newIndex[f.newKey] = i
		}
	}
	out := map[edge]sidesCount{}
	add := func(index map[funcKey]int, e [2]funcKey, n int64, set func(*sidesCount, int64)) {
		caller, ok1 := index[e[0]]
		callee, ok2 := index[e[1]]
		if !ok1 || !ok2 {
			return
		}
		s := out[edge{caller, callee}]
		set(&s, n)
		out[edge{caller, callee}] = s
	}
	for e, n := range base {
		add(baseIndex, e, n, func(s *sidesCount, n int64) { s.Base += n })
	}
	for e, n := range new {
		add(newIndex, e, n, func(s *sidesCount, n int64) { s.New += n })
	}
	return out
}

// MedianRun returns the index of the run whose total of v is the median
// of runs' (the lower of the middle two for an even count): the run a
// flame graph of several draws, since a median of call trees is no call
// tree, and the one whose total the text's median is.
func MedianRun(runs []*callgraph.Profile, v callgraph.Value) (int, error) {
	totals := make([]int64, len(runs))
	for i, p := range runs {
		t, err := report.Functions(p, v, "")
		if err != nil {
			return 0, err
		}
		totals[i] = t.Total
	}
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(totals[a], totals[b]) })
	return order[(len(order)-1)/2], nil
}
