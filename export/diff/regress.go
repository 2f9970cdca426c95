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
// r.Value that is not noise, for amounts whose runs lay spread apart (the
// base runs' spread plus the new runs'; 0 with one run a side).
func (r *Result) Noise(base, new, spread int64) int64 {
	switch r.Value {
	case callgraph.Calls:
		return spread
	case callgraph.Samples:
		return max(int64(math.Ceil(2*math.Sqrt(float64(base+new)))), spread)
	}
	return max(int64(math.Ceil(timeNoiseShare*float64(max(r.Base, r.New)))), timeNoiseFloor, spread)
}

// Cause says why a function's value grew, as far as the two sides tell.
type Cause int

const (
	// CauseTotal marks the total, which is no function's.
	CauseTotal Cause = iota
	// CauseOwn is a function that does more work of its own per call.
	CauseOwn
	// CauseMoreCalls is a function that calls another more often per
	// call of its own.
	CauseMoreCalls
	// CauseCalledMore is a function whose own value grew only as its
	// calls did: it moved with a caller that calls it more.
	CauseCalledMore
	// CauseCallees is a function whose cumulative value grew through what
	// it calls, its own staying within the noise.
	CauseCallees
)

// rank orders causes in a gate's report: the functions that changed first,
// then those that moved with them, the total last.
func (c Cause) rank() int {
	switch c {
	case CauseOwn, CauseMoreCalls:
		return 0
	case CauseCalledMore:
		return 1
	case CauseCallees:
		return 2
	}
	return 3
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
	Cause   Cause
	// Why says in words what changed, for a function: its own work, the
	// calls it makes, how often it is called, or its callees.
	Why string
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
	s := fmt.Sprintf("%s %s: %s -> %s (%s, %s; noise %s)", what, g.Value.Info().Type,
		report.Human(g.Value, g.Base), report.Human(g.Value, g.New),
		report.HumanDelta(g.Value, g.New-g.Base), report.ChangePercent(g.Base, g.New), report.Human(g.Value, g.Noise))
	if g.Why != "" {
		s += ": " + g.Why
	}
	return s
}

// Regressions implements the CI gate: the total, or the flat or cumulative
// value of any function, grew by more than pct percent and by more than the
// noise. A function reports its flat value when that regressed, else its
// cumulative one.
//
// The functions that changed come first: those doing more work of their
// own per call, or calling another more often per call; then those that
// only moved with them (called more often, their work per call the same),
// then those whose callees made them slower, each largest growth first,
// and the total last. A change a CI log opens with is then the code that
// changed, not its callers nor the callees it now calls more.
//
// Every function is checked, not only those Funcs lists first: Funcs is
// ordered by flat change, and a caller whose own time hardly moved while
// its callee's grew tenfold (a wrapper around time.sleep) would rank below
// functions that changed by microseconds, and slip through a gate on the
// first few.
func (r *Result) Regressions(pct float64) []Regression {
	var out []Regression
	for i, f := range r.Funcs {
		spread := func(get func(Stat) int64) int64 { return get(f.BaseSpread) + get(f.NewSpread) }
		g := r.check(f.Func, "flat", f.Base.Flat, f.New.Flat, spread(func(s Stat) int64 { return s.Flat }), pct)
		if g == nil {
			g = r.check(f.Func, "cum", f.Base.Cum, f.New.Cum, spread(func(s Stat) int64 { return s.Cum }), pct)
		}
		if g != nil {
			g.Cause, g.Why = r.explain(i, g, pct)
			out = append(out, *g)
		}
	}
	slices.SortStableFunc(out, func(a, b Regression) int {
		return cmp.Or(cmp.Compare(a.Cause.rank(), b.Cause.rank()), cmp.Compare(b.New-b.Base, a.New-a.Base))
	})
	if g := r.check(callgraph.Func{}, "total", r.Base, r.New, r.BaseSpread+r.NewSpread, pct); g != nil {
		out = append(out, *g)
	}
	return out
}

func (r *Result) check(f callgraph.Func, measure string, base, new, spread int64, pct float64) *Regression {
	noise := r.Noise(base, new, spread)
	grew := new - base
	if grew <= noise || (base > 0 && 100*float64(grew) <= pct*float64(base)) {
		return nil
	}
	return &Regression{Func: f, Measure: measure, Value: r.Value, Base: base, New: new, Noise: noise}
}

// explain tells why Funcs[i], whose value g grew, changed.
func (r *Result) explain(i int, g *Regression, pct float64) (Cause, string) {
	f := r.Funcs[i]
	if why := r.moreCallsPerCall(i, pct); why != "" {
		return CauseMoreCalls, why
	}
	if g.Measure == "cum" {
		return CauseCallees, "through its callees"
	}
	if r.calledMore(f, g, pct) {
		return CauseCalledMore, fmt.Sprintf("called %s times, was %s",
			report.Human(callgraph.Calls, f.New.Calls), report.Human(callgraph.Calls, f.Base.Calls))
	}
	if r.HasCalls && f.Base.Calls > 0 {
		return CauseOwn, fmt.Sprintf("more %s of its own per call", r.Value.Info().Type)
	}
	return CauseOwn, fmt.Sprintf("more %s of its own", r.Value.Info().Type)
}

// calledMore reports whether f's flat growth g is what its calls' growth
// explains, to within the noise and pct: its work per call stayed.
func (r *Result) calledMore(f Func, g *Regression, pct float64) bool {
	if !r.HasCalls || f.Base.Calls == 0 || f.New.Calls <= f.Base.Calls {
		return false
	}
	expected := float64(g.Base) * float64(f.New.Calls) / float64(f.Base.Calls)
	excess := float64(g.New) - expected
	return excess <= float64(g.Noise) || 100*excess <= pct*expected
}

// moreCallsPerCall names the callee Funcs[i] calls more often per call of
// its own by more than pct percent, the one with the most calls added
// when there are several; "" when there is none.
func (r *Result) moreCallsPerCall(i int, pct float64) string {
	f := r.Funcs[i]
	if !r.HasCalls || f.Base.Calls == 0 || f.New.Calls == 0 {
		return ""
	}
	best, bestExtra := -1, 0.0
	for e, n := range r.edgeCalls {
		if e.caller != i || n.New <= n.Base {
			continue
		}
		perBase := float64(n.Base) / float64(f.Base.Calls)
		perNew := float64(n.New) / float64(f.New.Calls)
		if 100*(perNew-perBase) <= pct*perBase {
			continue
		}
		extra := float64(n.New) - perBase*float64(f.New.Calls)
		if extra > bestExtra || extra == bestExtra && best >= 0 && e.callee < best {
			best, bestExtra = e.callee, extra
		}
	}
	if best < 0 {
		return ""
	}
	n := r.edgeCalls[edge{i, best}]
	return fmt.Sprintf("calls %s %s times a call, was %s", report.Printable(r.Funcs[best].Func.Name),
		perCall(n.New, f.New.Calls), perCall(n.Base, f.Base.Calls))
}

// perCall formats calls made per call: whole from 100 up (with thousands
// separators, as counts are written everywhere), else to three significant
// digits.
func perCall(calls, per int64) string {
	x := float64(calls) / float64(per)
	if x >= 100 {
		return report.Human(callgraph.Calls, int64(math.Round(x)))
	}
	return fmt.Sprintf("%.3g", x)
}

// Unjudged says, in one line, why the gate cannot judge a change of pct
// percent of the total, or "" when it can. The runs of each side lay apart
// by their spread, which the gate allows as noise: when that spread is
// larger than the change judged (pct percent of the base total), or than
// the base total itself, a regression of that size would pass as noise,
// and a pass would say nothing. Calls are exact and always judged: their
// spread comes from the program (threads racing), not from the
// measurement. With one run a side there is no spread to go by, and the
// sample type's own noise (documented in the package) is what the gate
// allows.
func (r *Result) Unjudged(pct float64) string {
	if r.Value == callgraph.Calls {
		return ""
	}
	spread := r.BaseSpread + r.NewSpread
	judged := pct / 100 * float64(r.Base)
	if float64(spread) <= min(judged, float64(r.Base)) {
		return ""
	}
	noun := r.Value.Info().Type
	if r.Value.Info().Unit == "nanoseconds" {
		noun += " time"
	}
	what := fmt.Sprintf("the base total %s", report.Human(r.Value, r.Base))
	if judged < float64(r.Base) {
		what = fmt.Sprintf("%s (%g%% of the base total %s)", report.Human(r.Value, int64(math.Ceil(judged))), pct, report.Human(r.Value, r.Base))
	}
	return fmt.Sprintf("%s too noisy to judge: spread %s (base %s, new %s) > %s: a regression that large would pass as noise (gate on calls, which are exact, or time on a quieter machine)",
		noun, report.Human(r.Value, spread), report.Human(r.Value, r.BaseSpread), report.Human(r.Value, r.NewSpread), what)
}
