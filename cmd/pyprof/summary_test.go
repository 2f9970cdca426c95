package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/agent"
)

// TestSummaryFits80 checks that record's closing summary fits 80 columns
// however many facts it gives, broken only after a comma or a semicolon,
// and that each fact is still there, whole.
func TestSummaryFits80(t *testing.T) {
	threads := []*callgraph.Thread{{ID: 1, Root: &callgraph.Node{}}, {ID: 2, Root: &callgraph.Node{}}}
	everything := &profiler.Result{
		Profile:  &callgraph.Profile{Threads: threads, Funcs: make([]callgraph.Func, 1234)},
		Agent:    &agent.Prepared{Kind: agent.Python},
		Signaled: syscall.SIGTERM,
		Stats: profiler.Stats{Events: 12_345_678, Lost: 9_876, ProducerWait: 1500 * time.Microsecond,
			DecodeErrors: 3, Children: 2, ChildrenRunning: 1, Elapsed: 12_345 * time.Millisecond},
	}
	plain := &profiler.Result{Profile: &callgraph.Profile{Threads: threads[:1]}, Stats: profiler.Stats{Events: 1_234_567, Elapsed: 2 * time.Second}}
	outs := []output{{path: "profile.pb.gz"}, {path: "profile.folded"}, {path: "profile.svg"}, {path: "profile.speedscope.json"}}
	tests := []struct {
		name  string
		res   *profiler.Result
		sst   *profiler.SampleStats
		outs  []output
		facts []string
	}{
		{
			name: "every note", res: everything, outs: outs,
			facts: []string{"pyprof: 12,345,678 events", "2 threads", "1234 functions", "12.345s",
				"wrote profile.pb.gz, profile.folded, profile.svg, profile.speedscope.json",
				"LOST 9,876 events (shown as a [lost] frame)", "the program waited 1.5ms for pyprof", "3 damaged rings",
				"followed 2 child processes (1 still running at the end: profiled until then)",
				"the program was killed by SIGTERM (terminated)", "agent: python"},
		},
		{
			name: "hybrid with no samples", res: plain, outs: outs[:2],
			sst: &profiler.SampleStats{Missed: 12_345, Dropped: 6_789, Elapsed: 2 * time.Second, Period: 10 * time.Millisecond},
			facts: []string{"pyprof: 1,234,567 events", "0 samples at 0 Hz (12,345 missed, 6,789 dropped)", "1 thread", "0 functions", "2s",
				"wrote profile.pb.gz, profile.folded", "NO SAMPLES: every read found the stacks moving"},
		},
		{
			name: "samples ended by an exec", res: &profiler.Result{Profile: &callgraph.Profile{Threads: threads[:1]}}, outs: outs[:1],
			sst: &profiler.SampleStats{Samples: 41, Elapsed: 417 * time.Millisecond, Period: 10 * time.Millisecond,
				ExecedAway: "/usr/bin/dash", Execs: 1},
			facts: []string{"41 samples at 98 Hz", "followed the program into the Python it exec'd (the same process)",
				"sampling ended after 417ms, when the program exec'd /usr/bin/dash"},
		},
		{
			name: "nothing written", res: plain, outs: nil,
			facts: []string{"2s; wrote nothing"},
		},
		{
			name: "one function", res: &profiler.Result{Profile: &callgraph.Profile{Funcs: make([]callgraph.Func, 1)}},
			outs: outs[:1], facts: []string{"0 threads, 1 function, 0s"},
		},
		{
			name: "a path longer than the line", res: plain, outs: []output{{path: "/tmp/" + strings.Repeat("deeply/nested/", 6) + "profile.pb.gz"}},
			facts: []string{"pyprof: 1,234,567 events", "wrote /tmp/" + strings.Repeat("deeply/nested/", 6) + "profile.pb.gz"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			(&statusLine{w: &out}).summary(tt.res, tt.sst, tt.outs)
			text := strings.TrimSuffix(out.String(), "\n")
			for _, line := range strings.Split(text, "\n") {
				if n := report.Columns(line); n > 80 && !strings.Contains(line, "/nested/") {
					t.Errorf("a line of %d columns: %q", n, line)
				}
				if !strings.HasPrefix(line, "pyprof: ") && !strings.HasPrefix(line, "  ") {
					t.Errorf("a line that neither starts the summary nor continues it: %q", line)
				}
			}
			whole := unwrapSummary(text)
			for _, fact := range tt.facts {
				if !strings.Contains(whole, fact) {
					t.Errorf("%q is not in the summary:\n%s", fact, text)
				}
			}
		})
	}
}

// unwrapSummary joins the lines of a summary that fitClauses broke after
// a comma or semicolon.
func unwrapSummary(s string) string {
	return strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n  ", " ")
}
