package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/agent"
)

// TestComments pins what a profile says of its recording: the harness
// parses the wait line, and a reader of `go tool pprof -comments` the rest.
func TestComments(t *testing.T) {
	py := &agent.Interpreter{Version: [3]int{3, 12, 1}, Executable: "/usr/bin/python3.12"}
	trace := &profiler.Result{Interpreter: py, Agent: &agent.Prepared{Kind: agent.C},
		Stats: profiler.Stats{Events: 4250, Lost: 2, ProducerWait: 1500 * time.Microsecond}}
	twin := &profiler.Result{Interpreter: py, Agent: &agent.Prepared{Kind: agent.Python}}
	null := &profiler.Result{Interpreter: py, Agent: &agent.Prepared{Kind: agent.C, Null: true}}
	sampled := &profiler.Result{Interpreter: py}
	hybrid := &profiler.Result{Interpreter: py, Agent: &agent.Prepared{Kind: agent.C},
		Profile: &callgraph.Profile{CPUUnplaced: 136 * time.Millisecond, GILUnplaced: 2500 * time.Microsecond}}
	sst := &profiler.SampleStats{Samples: 300, Dropped: 2, Elapsed: 3 * time.Second}
	missed := profiler.SampleStats{Samples: 300, Missed: 40, Elapsed: 3 * time.Second, Period: 10 * time.Millisecond, Unobserved: 250 * time.Millisecond}
	late := missed
	late.BeforeFirst = 280 * time.Millisecond
	// What the sampler read in the process, against what the file said.
	live := profiler.SampleStats{Samples: 300, Dropped: 2, Elapsed: 3 * time.Second, Python: "3.13.0", Executable: "/opt/py/bin/python3.13"}
	exitSeenLate := profiler.SampleStats{Samples: 300, Elapsed: 3 * time.Second, Period: 10 * time.Millisecond, AfterLast: 750 * time.Millisecond}
	for _, tc := range []struct {
		name  string
		flags recordFlags
		res   *profiler.Result
		sst   *profiler.SampleStats
		want  []string
	}{
		{"trace", recordFlags{mode: "trace"}, trace, nil, []string{
			"pyprof " + version + ", trace mode", "python: 3.12.1 (/usr/bin/python3.12)", "agent: c", "events: 4250, lost: 2",
			"program waited for pyprof: 1.5ms"}},
		{"twin", recordFlags{mode: "trace"}, twin, nil, []string{
			"pyprof " + version + ", trace mode", "python: 3.12.1 (/usr/bin/python3.12)", "agent: python", "events: 0, lost: 0",
			"program waited for pyprof: 0s"}},
		{"null", recordFlags{mode: "trace"}, null, nil, []string{
			"pyprof " + version + ", trace mode", "python: 3.12.1 (/usr/bin/python3.12)", "agent: null", "events: 0, lost: 0",
			"program waited for pyprof: 0s"}},
		{"command line", recordFlags{mode: "trace", commandLine: []string{"python3.12", "-m", "json.tool", "it's.json"}}, twin, nil, []string{
			"pyprof " + version + ", trace mode", `command: python3.12 -m json.tool 'it'\''s.json'`, "python: 3.12.1 (/usr/bin/python3.12)", "agent: python", "events: 0, lost: 0",
			"program waited for pyprof: 0s"}},
		{"sample", recordFlags{mode: "sample"}, sampled, sst, []string{
			"pyprof " + version + ", sample mode", "python: 3.12.1 (/usr/bin/python3.12)", "samples: 300 at 100 Hz, 0 missed, 2 dropped"}},
		{"ticks missed", recordFlags{mode: "sample"}, sampled, &missed, []string{
			"pyprof " + version + ", sample mode", "python: 3.12.1 (/usr/bin/python3.12)", "samples: 300 at 100 Hz, 40 missed, 0 dropped",
			"not observed: 400ms (ticks missed: 40), shared out by the threads' scheduler clocks among the stacks sampled, 250ms of it as [unobserved]"}},
		{"attached late", recordFlags{mode: "sample"}, sampled, &late, []string{
			"pyprof " + version + ", sample mode", "python: 3.12.1 (/usr/bin/python3.12)", "samples: 300 at 100 Hz, 40 missed, 0 dropped",
			"not observed: 280ms before the first read (the program started while pyprof attached), in no sample; 400ms (ticks missed: 40), shared out by the threads' scheduler clocks among the stacks sampled, 250ms of it as [unobserved]"}},
		{"unplaced", recordFlags{mode: "hybrid"}, hybrid, sst, []string{
			"pyprof " + version + ", hybrid mode", "python: 3.12.1 (/usr/bin/python3.12)", "agent: c", "samples: 300 at 100 Hz, 0 missed, 2 dropped",
			"cpu not charged to any function: 136ms (measured outside the calls traced, or past their wall time)",
			"gil not charged to any function: 2.5ms (sampled outside the calls traced)"}},
		{"unplaced, sampled", recordFlags{mode: "sample"}, hybrid, sst, []string{
			"pyprof " + version + ", sample mode", "python: 3.12.1 (/usr/bin/python3.12)", "agent: c", "samples: 300 at 100 Hz, 0 missed, 2 dropped",
			"cpu not charged to any function: 136ms (past the wall time of the stacks sampled)",
			"gil not charged to any function: 2.5ms (past the wall time of the stacks sampled)"}},
		{"attached", recordFlags{mode: "sample", pid: 42}, &profiler.Result{}, sst, []string{
			"pyprof " + version + ", sample mode, attached to pid 42", "samples: 300 at 100 Hz, 0 missed, 2 dropped"}},
		{"sampled version", recordFlags{mode: "sample"}, sampled, &live, []string{
			"pyprof " + version + ", sample mode", "python: 3.13.0 (/opt/py/bin/python3.13)", "samples: 300 at 100 Hz, 0 missed, 2 dropped"}},
		{"attached, version", recordFlags{mode: "sample", pid: 42}, &profiler.Result{}, &live, []string{
			"pyprof " + version + ", sample mode, attached to pid 42", "python: 3.13.0 (/opt/py/bin/python3.13)", "samples: 300 at 100 Hz, 0 missed, 2 dropped"}},
		{"exit seen late", recordFlags{mode: "sample"}, sampled, &exitSeenLate, []string{
			"pyprof " + version + ", sample mode", "python: 3.12.1 (/usr/bin/python3.12)", "samples: 300 at 100 Hz, 0 missed, 0 dropped",
			"not observed: up to 750ms between the last sample and the exit, in no sample"}},
	} {
		if got := tc.flags.comments(tc.res, tc.sst); !slices.Equal(got, tc.want) {
			t.Errorf("%s: comments\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}

// TestSummarySaysNoSamples checks that a run whose sampler read nothing
// says so, and why, even with -q: a hybrid profile's CPU time and lines
// would otherwise just be zero.
func TestSummarySaysNoSamples(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sst      *profiler.SampleStats
		quiet    bool
		attached bool
		want     string
	}{
		{"program ended", &profiler.SampleStats{Elapsed: 40 * time.Millisecond}, true, false,
			"; NO SAMPLES: the program ended before the sampler's first read"},
		{"attached", &profiler.SampleStats{}, false, true, "; NO SAMPLES: sampling ended before its first read"},
		{"moving stacks", &profiler.SampleStats{Dropped: 12}, true, false, "; NO SAMPLES: every read found the stacks moving"},
		{"samples", &profiler.SampleStats{Samples: 3, Elapsed: 40 * time.Millisecond}, false, false, ""},
		{"samples, quiet", &profiler.SampleStats{Samples: 3}, true, false, ""},
		{"trace", nil, false, false, ""},
	} {
		var out strings.Builder
		res := &profiler.Result{Profile: &callgraph.Profile{}, Stats: profiler.Stats{Events: 10}}
		(&statusLine{w: &out, quiet: tc.quiet, attached: tc.attached}).summary(res, tc.sst, []output{{path: "p.pb.gz"}})
		got := ""
		if _, after, ok := strings.Cut(unwrapSummary(out.String()), "; NO SAMPLES: "); ok {
			got = "; NO SAMPLES: " + after
		}
		if got != tc.want {
			t.Errorf("%s: summary %q, want it to end %q", tc.name, out.String(), tc.want)
		}
		if tc.quiet && tc.want == "" && out.Len() > 0 {
			t.Errorf("%s: -q printed %q", tc.name, out.String())
		}
	}
}

// TestSummarySaysExitSeenLate: a sampler that did not run for a while saw
// the exit late, and the summary says how much of the program's end no
// sample holds; a sampler on time says nothing of it.
func TestSummarySaysExitSeenLate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		afterLast time.Duration
		want      bool
	}{
		{"seen late", 750 * time.Millisecond, true},
		{"on time", 5 * time.Millisecond, false},
	} {
		var out strings.Builder
		res := &profiler.Result{Profile: &callgraph.Profile{}}
		sst := &profiler.SampleStats{Samples: 30, Elapsed: time.Second, Period: 10 * time.Millisecond, AfterLast: tc.afterLast}
		(&statusLine{w: &out}).summary(res, sst, []output{{path: "p.pb.gz"}})
		said := strings.Contains(unwrapSummary(out.String()), "the last 750ms before the exit is in no sample")
		if said != tc.want || strings.Contains(out.String(), "before the exit") != tc.want {
			t.Errorf("%s: summary %q; want the late exit said: %v", tc.name, out.String(), tc.want)
		}
	}
}
