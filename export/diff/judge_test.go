package diff

import (
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// TestUnjudged checks when the gate says it cannot judge: the runs' spread
// beyond the change judged, or beyond the base total.
func TestUnjudged(t *testing.T) {
	tests := []struct {
		name      string
		base, new []*callgraph.Profile
		value     callgraph.Value
		pct       float64
		want      string // "" when the gate can judge
	}{
		// The totals are app.hot's value and 900ms of app.other: base runs
		// of 1000, 1020 and 1010ms lie 20ms apart, new runs 25ms apart.
		{"a spread beyond the change judged", hotRuns(t, 100*ms, 120*ms, 110*ms), hotRuns(t, 125*ms, 105*ms, 130*ms), callgraph.Wall, 1,
			"wall time too noisy to judge: spread 45.0ms (base 20.0ms, new 25.0ms) > 10.1ms (1% of the base total 1.01s)"},
		{"the same spread within a larger change judged", hotRuns(t, 100*ms, 120*ms, 110*ms), hotRuns(t, 125*ms, 105*ms, 130*ms), callgraph.Wall, 10, ""},
		{"a spread beyond the total itself", hotRuns(t, 100*ms, 200*ms, 2200*ms), hotRuns(t, 100*ms, 110*ms), callgraph.Wall, 500,
			"wall time too noisy to judge: spread 2.11s (base 2.10s, new 10.0ms) > the base total 1.10s"},
		{"one run a side has no spread", hotRuns(t, 110*ms), hotRuns(t, 125*ms), callgraph.Wall, 0, ""},
		{"calls are exact, whatever their spread", callRuns(t, 10, 50, 90), callRuns(t, 10, 90), callgraph.Calls, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CompareRuns(tt.base, tt.new, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Unjudged(tt.pct)
			if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
				t.Errorf("Unjudged(%g) = %q, want it to start %q", tt.pct, got, tt.want)
			}
		})
	}
}

// callRuns returns one run of the pair fixture on calls per count of
// app.hot's calls.
func callRuns(t *testing.T, calls ...int64) []*callgraph.Profile {
	t.Helper()
	var out []*callgraph.Profile
	for _, n := range calls {
		p, _ := pair(t, callgraph.Calls, n, 0, 100, 0)
		out = append(out, p)
	}
	return out
}
