package report

import (
	"bytes"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

var golden = exporttest.Golden{Update: flag.Bool("update", false, "rewrite the golden files in testdata")}

const ms = 1_000_000

// sample is a two-thread profile with recursion, a native builtin called
// often, a marker and values in every unit range.
func sample(t *testing.T) *callgraph.Profile {
	t.Helper()
	f := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Fn("app.fib", "app.py", 10, callgraph.KindPython).
		Fn("app.work", "app.py", 20, callgraph.KindPython).
		Fn("builtins.len", "", 0, callgraph.KindNative).
		Fn("json.dumps", "/usr/lib/python3.12/json/__init__.py", 183, callgraph.KindPython).
		Fn("[lost events]", "", 0, callgraph.KindMarker)
	f.Add(t, "MainThread", "app.main@7", 1, 2*ms).
		Add(t, "MainThread", "app.main@7;app.fib@12", 1, 3*ms).
		Add(t, "MainThread", "app.main@7;app.fib@12;app.fib@12", 2, 5*ms).
		Add(t, "MainThread", "app.main@7;app.fib@12;app.fib@12;app.fib@11", 4, 8*ms).
		Add(t, "MainThread", "app.main@8;builtins.len", 1500, 750_000).
		Add(t, "MainThread", "app.main@9;json.dumps@190", 3, 120*ms).
		Add(t, "worker-1", "app.work@21;builtins.len", 2_000_000, 900*ms).
		Add(t, "worker-1", "app.work@22", 1, 1500*ms).
		Add(t, "worker-1", "[lost events]", 0, 40_000)
	return f.Profile
}

func TestFunctions(t *testing.T) {
	type want struct{ flat, cum, calls, prim int64 }
	tests := []struct {
		name   string
		value  callgraph.Value
		thread string
		total  int64
		rows   map[string]want
	}{
		{
			name: "recursion counted once per path", value: callgraph.Wall, thread: "MainThread",
			total: 138*ms + 750_000,
			rows: map[string]want{
				"app.fib":      {16 * ms, 16 * ms, 7, 1},
				"app.main":     {2 * ms, 138*ms + 750_000, 1, 1},
				"builtins.len": {750_000, 750_000, 1500, 1500},
			},
		},
		{
			name: "every thread", value: callgraph.Wall,
			total: 138*ms + 750_000 + 2400*ms + 40_000,
			rows: map[string]want{
				"builtins.len":  {900*ms + 750_000, 900*ms + 750_000, 2_001_500, 2_001_500},
				"[lost events]": {40_000, 40_000, 0, 0},
			},
		},
		{
			name: "calls are summed over the subtree for cum", value: callgraph.Calls, thread: "MainThread",
			total: 1 + 7 + 1500 + 3,
			rows: map[string]want{
				"app.main": {1, 1511, 1, 1},
				"app.fib":  {7, 7, 7, 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := Functions(sample(t), tt.value, tt.thread)
			if err != nil {
				t.Fatal(err)
			}
			if tab.Total != tt.total {
				t.Errorf("total = %d, want %d", tab.Total, tt.total)
			}
			got := map[string]want{}
			for _, r := range tab.Rows {
				got[r.Func.Name] = want{r.Flat, r.Cum, r.Calls, r.PrimCalls}
			}
			for name, w := range tt.rows {
				if got[name] != w {
					t.Errorf("%s = %+v, want %+v", name, got[name], w)
				}
			}
		})
	}
}

func TestFunctionsErrors(t *testing.T) {
	broken := sample(t)
	broken.Threads[0].Root.Children[0].Children[0].Func = 99
	tests := []struct {
		name   string
		p      *callgraph.Profile
		value  callgraph.Value
		thread string
		want   string
	}{
		{"unmeasured value", sample(t), callgraph.CPU, "", `no cpu values (has calls, wall)`},
		{"unknown thread", sample(t), callgraph.Wall, "nope", `no thread named "nope" (threads: MainThread, worker-1)`},
		{"function out of range", broken, callgraph.Wall, "", "function 99 of 6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Functions(tt.p, tt.value, tt.thread)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSortUnknown(t *testing.T) {
	err := Write(&bytes.Buffer{}, sample(t), Options{Sort: "size"})
	if err == nil || !strings.Contains(err.Error(), `unknown sort order "size"`) {
		t.Fatalf("error = %v", err)
	}
}

func val(v callgraph.Value) *callgraph.Value { return &v }

// TestWriteGolden pins both layouts; each golden is named after the options
// that made it.
func TestWriteGolden(t *testing.T) {
	samplesOnly := exporttest.NewFixture(callgraph.Samples).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Add(t, "MainThread", "app.main@3", 40).
		Add(t, "MainThread", "app.main@4;app.helper", 2).Profile
	tests := []struct {
		golden string
		p      *callgraph.Profile
		opts   Options
	}{
		{"aligned-flat", sample(t), Options{Aligned: true}},
		{"tsv-flat", sample(t), Options{}},
		{"aligned-cum-top3", sample(t), Options{Aligned: true, Sort: SortCum, Top: 3}},
		{"aligned-calls-value-calls", sample(t), Options{Aligned: true, Sort: SortCalls, Value: val(callgraph.Calls)}},
		{"tsv-name-thread-MainThread", sample(t), Options{Sort: SortName, Thread: "MainThread", Top: -1}},
		{"aligned-samples-without-calls", samplesOnly, Options{Aligned: true}},
		{"tsv-samples-without-calls", samplesOnly, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			checkGolden(t, tt.golden, func(w io.Writer) error { return Write(w, tt.p, tt.opts) })
		})
	}
}

// checkGolden compares what write writes with testdata/NAME.txt.
func checkGolden(t *testing.T, name string, write func(io.Writer) error) {
	t.Helper()
	var out bytes.Buffer
	if err := write(&out); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", name+".txt"), out.Bytes())
}

func TestHuman(t *testing.T) {
	tests := []struct {
		name  string
		value callgraph.Value
		x     int64
		want  string
	}{
		{"zero", callgraph.Wall, 0, "0ns"},
		{"nanoseconds", callgraph.Wall, 999, "999ns"},
		{"rounds up to the next unit", callgraph.Wall, 999_600, "1.00ms"},
		{"microseconds", callgraph.CPU, 12_345, "12.3us"},
		{"milliseconds", callgraph.Wall, 120 * ms, "120ms"},
		{"seconds", callgraph.Wall, 1500 * ms, "1.50s"},
		{"seconds keep growing", callgraph.Wall, 12_345 * 1000 * ms, "12345s"},
		{"negative", callgraph.Wall, -3 * ms, "-3.00ms"},
		{"small count stays exact", callgraph.Calls, 42, "42"},
		{"thousands of samples", callgraph.Samples, 1500, "1.50k"},
		{"calls stay exact", callgraph.Calls, 50_001, "50,001"},
		{"millions of calls stay exact", callgraph.Calls, 2_001_500, "2,001,500"},
		{"fewer calls stay exact", callgraph.Calls, -1500, "-1,500"},
		{"millions", callgraph.Samples, 2_001_500, "2.00M"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Human(tt.value, tt.x); got != tt.want {
				t.Errorf("Human(%v, %d) = %q, want %q", tt.value, tt.x, got, tt.want)
			}
		})
	}
}
