package diff

import (
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// renderRun is a run of a program whose render escapes each of 1,000 rows
// escapesPerRow times, taking escapeTime in all, beside a parse of
// parseTime: render is the code that changes to make more calls, escape
// what is called more, main a caller that only moves with them.
func renderRun(t *testing.T, escapesPerRow, escapeTime, parseTime int64) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Add(t, "MainThread", "app.main", 1, 5*ms).
		Add(t, "MainThread", "app.main@2;app.render", 1, 20*ms).
		Add(t, "MainThread", "app.main@2;app.render@3;app.escape", 1000*escapesPerRow, escapeTime).
		Add(t, "MainThread", "app.main@4;app.parse", 10, parseTime).Profile
}

func TestRegressionsNameWhatChangedFirst(t *testing.T) {
	tests := []struct {
		name      string
		base, new *callgraph.Profile
		value     callgraph.Value
		want      []string // "name measure: cause"
	}{
		{
			"a function that makes more calls, before the callee and the caller that moved with it",
			renderRun(t, 1, 40*ms, 30*ms), renderRun(t, 2, 80*ms, 30*ms), callgraph.Wall,
			[]string{
				"app.render cum: calls app.escape 2,000 times a call, was 1,000",
				"app.escape flat: called 2,000 times, was 1,000",
				"app.main cum: through its callees",
				"total",
			},
		},
		{
			"the same on exact calls",
			renderRun(t, 1, 40*ms, 30*ms), renderRun(t, 2, 80*ms, 30*ms), callgraph.Calls,
			[]string{
				"app.render cum: calls app.escape 2,000 times a call, was 1,000",
				"app.escape flat: called 2,000 times, was 1,000",
				"app.main cum: through its callees",
				"total",
			},
		},
		{
			"a function doing more work per call, before a larger caller that moved with it",
			renderRun(t, 1, 40*ms, 30*ms), renderRun(t, 1, 40*ms, 60*ms), callgraph.Wall,
			[]string{
				"app.parse flat: more wall of its own per call",
				"app.main cum: through its callees",
				"total",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, g := range compare(t, tt.base, tt.new, tt.value).Regressions(10) {
				s := strings.TrimSpace(g.Func.Name + " " + g.Measure)
				if g.Why != "" {
					s += ": " + g.Why
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("regressions\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// hotRuns returns one run of the pair fixture per value of app.hot.
func hotRuns(t *testing.T, hot ...int64) []*callgraph.Profile {
	t.Helper()
	var out []*callgraph.Profile
	for _, x := range hot {
		p, _ := pair(t, callgraph.Wall, x, 0, 900*ms, 0)
		out = append(out, p)
	}
	return out
}

func TestCompareRunsNoise(t *testing.T) {
	tests := []struct {
		name      string
		base, new []*callgraph.Profile
		want      []string // "name measure"
	}{
		// Alone, 110ms against 125ms is +13.6%; the runs of each side lay
		// 20 and 25ms apart, so the medians' 15ms is within their spread.
		{"within the runs' spread", hotRuns(t, 100*ms, 120*ms, 110*ms), hotRuns(t, 125*ms, 105*ms, 130*ms), nil},
		{"one run a side has no spread to go by", hotRuns(t, 110*ms), hotRuns(t, 125*ms), []string{"app.hot flat"}},
		{"beyond the runs' spread", hotRuns(t, 100*ms, 120*ms, 110*ms), hotRuns(t, 165*ms, 160*ms, 170*ms), []string{"app.hot flat"}},
		{"one slow run of three is outvoted", hotRuns(t, 100*ms, 101*ms, 102*ms), hotRuns(t, 101*ms, 400*ms, 100*ms), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CompareRuns(tt.base, tt.new, callgraph.Wall)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range r.Regressions(10) {
				if g.Func.Name != "" {
					got = append(got, g.Func.Name+" "+g.Measure)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("regressions %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCompareRunsMedians(t *testing.T) {
	r, err := CompareRuns(hotRuns(t, 100*ms, 120*ms, 110*ms), hotRuns(t, 10*ms, 30*ms, 20*ms, 40*ms), callgraph.Wall)
	if err != nil {
		t.Fatal(err)
	}
	var hot Func
	for _, f := range r.Funcs {
		if f.Func.Name == "app.hot" {
			hot = f
		}
	}
	if hot.Base.Flat != 110*ms || hot.New.Flat != 25*ms || hot.BaseSpread.Flat != 20*ms || hot.NewSpread.Flat != 30*ms {
		t.Errorf("app.hot %+v (spread %+v) -> %+v (spread %+v), want medians 110ms -> 25ms, spreads 20ms and 30ms",
			hot.Base, hot.BaseSpread, hot.New, hot.NewSpread)
	}
	if r.BaseRuns != 3 || r.NewRuns != 4 {
		t.Errorf("runs %d and %d, want 3 and 4", r.BaseRuns, r.NewRuns)
	}
}

func TestCheckoutsInOtherDirectoriesMatch(t *testing.T) {
	run := func(dir string, x int64) *callgraph.Profile {
		return exporttest.NewFixture(callgraph.Wall).
			Fn("bench.main", dir+"/bench.py", 1, callgraph.KindPython).
			Fn("bench.work", dir+"/bench.py", 5, callgraph.KindPython).
			Add(t, "MainThread", "bench.main@2;bench.work", x).Profile
	}
	r := compare(t, run("/ci/base", 100*ms), run("/ci/new", 100*ms), callgraph.Wall)
	if len(r.Funcs) != 2 {
		t.Errorf("%d functions, want bench.main and bench.work matched across the checkouts: %+v", len(r.Funcs), r.Funcs)
	}
	if g := r.Regressions(10); len(g) != 0 {
		t.Errorf("identical runs in two checkouts regressed: %v", g)
	}
}
