package diff

import (
	"bytes"
	"encoding/xml"
	"flag"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/flamegraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

var golden = exporttest.Golden{Update: flag.Bool("update", false, "rewrite the golden files in testdata")}

const ms = 1_000_000

// base and changed are two runs of one program: in NEW fib got slower,
// json.dumps faster, app.main moved down its file, a helper appeared and
// an old one went away.
func base(t *testing.T) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Fn("app.fib", "app.py", 10, callgraph.KindPython).
		Fn("json.dumps", "json.py", 183, callgraph.KindPython).
		Fn("app.old", "app.py", 40, callgraph.KindPython).
		Add(t, "MainThread", "app.main@5", 1, 10*ms).
		Add(t, "MainThread", "app.main@6;app.fib", 100, 100*ms).
		Add(t, "MainThread", "app.main@7;json.dumps", 10, 50*ms).
		Add(t, "MainThread", "app.main@8;app.old", 3, 5*ms).Profile
}

func changed(t *testing.T) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("app.main", "app.py", 3, callgraph.KindPython).
		Fn("app.fib", "app.py", 10, callgraph.KindPython).
		Fn("json.dumps", "json.py", 183, callgraph.KindPython).
		Fn("app.helper", "app.py", 50, callgraph.KindPython).
		Add(t, "MainThread", "app.main@5", 1, 10*ms+500_000).
		Add(t, "MainThread", "app.main@6;app.fib", 120, 150*ms).
		Add(t, "MainThread", "app.main@7;json.dumps", 10, 30*ms).
		Add(t, "MainThread", "app.main@9;app.helper", 7, 8*ms).Profile
}

func compare(t *testing.T, b, n *callgraph.Profile, v callgraph.Value) *Result {
	t.Helper()
	r, err := Compare(b, n, v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCompare(t *testing.T) {
	r := compare(t, base(t), changed(t), callgraph.Wall)
	if r.Base != 165*ms || r.New != 198*ms+500_000 {
		t.Errorf("totals %d -> %d, want %d -> %d", r.Base, r.New, 165*ms, 198*ms+500_000)
	}
	want := []struct {
		name      string
		base, new Stat
	}{
		{"app.fib", Stat{100 * ms, 100 * ms, 100}, Stat{150 * ms, 150 * ms, 120}},
		{"json.dumps", Stat{50 * ms, 50 * ms, 10}, Stat{30 * ms, 30 * ms, 10}},
		{"app.helper", Stat{}, Stat{8 * ms, 8 * ms, 7}},
		{"app.old", Stat{5 * ms, 5 * ms, 3}, Stat{}},
		{"app.main", Stat{10 * ms, 165 * ms, 1}, Stat{10*ms + 500_000, 198*ms + 500_000, 1}}, // moved, still matched
	}
	if len(r.Funcs) != len(want) {
		t.Fatalf("%d functions, want %d: %+v", len(r.Funcs), len(want), r.Funcs)
	}
	for i, w := range want {
		f := r.Funcs[i]
		if f.Func.Name != w.name || f.Base != w.base || f.New != w.new {
			t.Errorf("Funcs[%d] = %s %+v -> %+v, want %s %+v -> %+v", i, f.Func.Name, f.Base, f.New, w.name, w.base, w.new)
		}
	}
}

func TestAmbiguousMovesStayApart(t *testing.T) {
	// Two lambdas share a qualname; both moved. Pairing them by name would
	// be a guess, so each side keeps its own.
	b := exporttest.NewFixture(callgraph.Wall).
		Fn("f.<lambda>#1", "app.py", 10, callgraph.KindPython).
		Fn("f.<lambda>#2", "app.py", 11, callgraph.KindPython).
		Add(t, "T", "f.<lambda>#1", 5*ms).Add(t, "T", "f.<lambda>#2", 6*ms)
	n := exporttest.NewFixture(callgraph.Wall).
		Fn("f.<lambda>#1", "app.py", 20, callgraph.KindPython).
		Fn("f.<lambda>#2", "app.py", 21, callgraph.KindPython).
		Add(t, "T", "f.<lambda>#1", 5*ms).Add(t, "T", "f.<lambda>#2", 6*ms)
	for _, p := range []*callgraph.Profile{b.Profile, n.Profile} {
		for i := range p.Funcs {
			p.Funcs[i].Name = "f.<lambda>"
		}
	}
	if r := compare(t, b.Profile, n.Profile, callgraph.Wall); len(r.Funcs) != 4 {
		t.Errorf("%d functions, want the 4 unpaired lambdas: %+v", len(r.Funcs), r.Funcs)
	}
}

func TestCompareErrors(t *testing.T) {
	_, err := Compare(base(t), changed(t), callgraph.CPU)
	if err == nil || err.Error() != "base has no cpu values (it has calls, wall)" {
		t.Fatalf("error = %v", err)
	}
}

// pair is a one-function profile pair for the gate.
func pair(t *testing.T, v callgraph.Value, baseVal, newVal, baseOther, newOther int64) (*callgraph.Profile, *callgraph.Profile) {
	t.Helper()
	mk := func(x, other int64) *callgraph.Profile {
		return exporttest.NewFixture(v).Add(t, "T", "app.main;app.hot", x).Add(t, "T", "app.main;app.other", other).Profile
	}
	return mk(baseVal, baseOther), mk(newVal, newOther)
}

func TestRegressions(t *testing.T) {
	tests := []struct {
		name                string
		value               callgraph.Value
		base, new           int64 // app.hot
		baseOther, newOther int64 // app.other
		pct                 float64
		want                []string // "name measure"
	}{
		{"time over pct and noise", callgraph.Wall, 100 * ms, 130 * ms, 900 * ms, 900 * ms, 10,
			[]string{"app.hot flat"}},
		{"total too", callgraph.Wall, 100 * ms, 300 * ms, 100 * ms, 100 * ms, 10,
			[]string{"app.hot flat", "app.main cum", "total"}},
		{"under pct", callgraph.Wall, 100 * ms, 105 * ms, 900 * ms, 900 * ms, 10, nil},
		{"time under the 2ms floor", callgraph.Wall, 1 * ms, 2*ms + 900_000, 50 * ms, 50 * ms, 10, nil},
		{"time under 1% of the total", callgraph.Wall, 5 * ms, 14 * ms, 2000 * ms, 2000 * ms, 10, nil},
		{"new function above noise", callgraph.Wall, 0, 30 * ms, 900 * ms, 900 * ms, 10,
			[]string{"app.hot flat"}},
		{"samples within 2 sqrt", callgraph.Samples, 100, 125, 1000, 1000, 10, nil},
		{"samples beyond 2 sqrt", callgraph.Samples, 100, 140, 1000, 1000, 10, []string{"app.hot flat"}},
		{"calls are exact", callgraph.Calls, 10, 11, 1000, 1000, 5, []string{"app.hot flat"}},
		{"every function, not only the first listed", callgraph.Calls, 10, 11, 1000, 900, 5, []string{"app.hot flat"}},
		{"flat before cum, largest growth first, total last", callgraph.Wall, 100 * ms, 130 * ms, 100 * ms, 300 * ms, 10,
			[]string{"app.other flat", "app.hot flat", "app.main cum", "total"}},
		{"faster is no regression", callgraph.Wall, 300 * ms, 100 * ms, 900 * ms, 900 * ms, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, n := pair(t, tt.value, tt.base, tt.new, tt.baseOther, tt.newOther)
			var got []string
			for _, g := range compare(t, b, n, tt.value).Regressions(tt.pct) {
				got = append(got, strings.TrimSpace(g.Func.Name+" "+g.Measure))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("regressions %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRegressionString(t *testing.T) {
	tests := []struct {
		name string
		g    Regression
		want string
	}{
		{
			"function",
			Regression{Func: callgraph.Func{Name: "app.fib", Filename: "app.py", StartLine: 10}, Measure: "flat",
				Value: callgraph.Wall, Base: 100 * ms, New: 150 * ms, Noise: 2 * ms},
			"app.fib (app.py:10) flat wall: 100ms -> 150ms (+50.0ms, +50.0%; noise 2.00ms)",
		},
		{
			"total of a new run",
			Regression{Measure: "total", Value: callgraph.Samples, New: 40, Noise: 13},
			"total samples: 0 -> 40 (+40, new; noise 13)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	if p := (Regression{New: 1}).Percent(); !math.IsInf(p, 1) {
		t.Errorf("Percent from zero = %v, want +Inf", p)
	}
}

func TestWriteTextGolden(t *testing.T) {
	samplesBase, samplesNew := pair(t, callgraph.Samples, 100, 140, 1000, 990)
	tests := []struct {
		golden string
		r      *Result
		top    int
	}{
		{"wall-all", compare(t, base(t), changed(t), callgraph.Wall), 0},
		{"calls-top2", compare(t, base(t), changed(t), callgraph.Calls), 2},
		{"samples-all", compare(t, samplesBase, samplesNew, callgraph.Samples), 0},
		{"unchanged", compare(t, base(t), base(t), callgraph.Wall), 0},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			if err := tt.r.WriteText(&out, tt.top); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.golden+".txt"), out.Bytes())
		})
	}
}

func TestFlameGraph(t *testing.T) {
	var out bytes.Buffer
	if err := FlameGraph(&out, base(t), changed(t), flamegraph.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(out.Bytes(), new(struct{})); err != nil {
		t.Fatalf("not well-formed: %v", err)
	}
	for _, want := range []string{"Differential Flame Graph", `"diff":true`, `"bt":[`} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("the graph lacks %s", want)
		}
	}
}
