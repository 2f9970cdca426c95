package diff

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
)

// Noise floors for time values; see the package documentation.
const (
	timeNoiseShare = 0.01            // of the larger total
	timeNoiseFloor = 2 * 1000 * 1000 // 2 ms in nanoseconds
)

// Noise returns the smallest difference between amounts base and new of
// r.Value that is not noise.
func (r *Result) Noise(base, new int64) int64 {
	switch r.Value {
	case callgraph.Calls:
		return 0
	case callgraph.Samples:
		return int64(math.Ceil(2 * math.Sqrt(float64(base+new))))
	}
	return max(int64(math.Ceil(timeNoiseShare*float64(max(r.Base, r.New)))), timeNoiseFloor)
}

// Regression is an amount that grew by more than both the allowed percent
// and the noise.
type Regression struct {
	// Func is the function; its Name is empty for the total.
	Func callgraph.Func
	// Measure is "total", "flat" or "cum".
	Measure string
	Value   callgraph.Value
	Base    int64
	New     int64
	Noise   int64
}

// Percent returns the growth in percent of Base, +Inf for an amount that
// was zero.
func (g Regression) Percent() float64 {
	if g.Base == 0 {
		return math.Inf(1)
	}
	return 100 * float64(g.New-g.Base) / float64(g.Base)
}

// String describes the regression in one line for a CI log.
func (g Regression) String() string {
	what := "total"
	if g.Func.Name != "" {
		what = fmt.Sprintf("%s (%s) %s", report.Printable(g.Func.Name), location(g.Func), g.Measure)
	}
	return fmt.Sprintf("%s %s: %s -> %s (%s, %s; noise %s)", what, g.Value.Info().Type,
		report.Human(g.Value, g.Base), report.Human(g.Value, g.New),
		report.HumanDelta(g.Value, g.New-g.Base), percent(g.Base, g.New), report.Human(g.Value, g.Noise))
}

// Regressions implements the CI gate: the total, or the flat or cumulative
// value of any function, grew by more than pct percent and by more than the
// noise. A function reports its flat value when that regressed, else its
// cumulative one. The total comes first, then flat regressions (where the
// time went), then cumulative ones (the callers it went through), each
// largest growth first.
//
// Every function is checked, not only those Funcs lists first: Funcs is
// ordered by flat change, and a caller whose own time hardly moved while
// its callee's grew tenfold (a wrapper around time.sleep) would rank below
// functions that changed by microseconds, and slip through a gate on the
// first few.
func (r *Result) Regressions(pct float64) []Regression {
	var out []Regression
	for _, f := range r.Funcs {
		g := r.check(f.Func, "flat", f.Base.Flat, f.New.Flat, pct)
		if g == nil {
			g = r.check(f.Func, "cum", f.Base.Cum, f.New.Cum, pct)
		}
		if g != nil {
			out = append(out, *g)
		}
	}
	slices.SortStableFunc(out, func(a, b Regression) int {
		return cmp.Or(cmp.Compare(cumRank(a), cumRank(b)), cmp.Compare(b.New-b.Base, a.New-a.Base))
	})
	if g := r.check(callgraph.Func{}, "total", r.Base, r.New, pct); g != nil {
		out = append([]Regression{*g}, out...)
	}
	return out
}

// cumRank orders flat regressions before cumulative ones.
func cumRank(g Regression) int {
	if g.Measure == "cum" {
		return 1
	}
	return 0
}

func (r *Result) check(f callgraph.Func, measure string, base, new int64, pct float64) *Regression {
	noise := r.Noise(base, new)
	grew := new - base
	if grew <= noise || (base > 0 && 100*float64(grew) <= pct*float64(base)) {
		return nil
	}
	return &Regression{Func: f, Measure: measure, Value: r.Value, Base: base, New: new, Noise: noise}
}
