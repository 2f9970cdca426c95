package sample

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

// codes interns the test's functions of /p/mod.py, as a Process would.
var codes = map[string]*Code{}

// fr makes a frame of function qualname of /p/mod.py.
func fr(qualname string, line int) Frame {
	c, ok := codes[qualname]
	if !ok {
		c = &Code{Filename: "/p/mod.py", Qualname: qualname, FirstLine: 1}
		codes[qualname] = c
	}
	return Frame{Code: c, Line: line}
}

// dump renders a profile's trees one node per line, indented, with
// qualname@CallLine, SelfLine when set, and samples/wall/cpu.
func dump(p *callgraph.Profile) string {
	var sb strings.Builder
	for _, th := range p.Threads {
		fmt.Fprintf(&sb, "thread %d pid %d\n", th.ID, th.PID)
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			name := p.Funcs[n.Func].Name
			fmt.Fprintf(&sb, "%s%s@%d", strings.Repeat("  ", len(path)), name, n.CallLine)
			if n.SelfLine != 0 {
				fmt.Fprintf(&sb, " self@%d", n.SelfLine)
			}
			fmt.Fprintf(&sb, " %d/%d/%d\n", n.Total[callgraph.Samples],
				n.Total[callgraph.Wall]/1e6, n.Total[callgraph.CPU]/1e6)
		})
	}
	return sb.String()
}

func TestBuilder(t *testing.T) {
	b := NewBuilder(Options{Rate: 100, Idle: true})
	main := func(leaf Frame, onCPU bool) ThreadStack {
		return ThreadStack{TID: 7, OnCPU: onCPU, Frames: []Frame{fr("<module>", 30), fr("f", 12), leaf}}
	}
	b.Add(0, &Snapshot{Threads: []ThreadStack{main(fr("g", 5), true)}})
	b.Add(0, &Snapshot{Threads: []ThreadStack{main(fr("g", 6), false)}})
	b.Add(0, &Snapshot{Threads: []ThreadStack{main(fr("g", 5), true)}})
	// f itself as the leaf, at the call line and at another line.
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 7, Frames: []Frame{fr("<module>", 30), fr("f", 14)}}}})
	b.Add(0, &Snapshot{Threads: []ThreadStack{
		{TID: 7, Dropped: true},
		{TID: 3, Frames: []Frame{fr("<module>", 1)}, OnCPU: true},
		{TID: 9}, // no Python frames: not recorded
	}})
	b.Add(42, &Snapshot{Threads: []ThreadStack{{TID: 7, Frames: []Frame{fr("child", 2)}}}})
	got := dump(b.Profile())
	want := `thread 3 pid 0
  mod.<module>@0 self@1 1/10/10
thread 7 pid 0
  mod.<module>@0 4/40/20
    mod.f@30 3/30/20
      mod.g@12 self@5 2/20/20
      mod.g@12 self@6 1/10/0
    mod.f@30 self@14 1/10/0
  <pyprof: stack changed while read>@0 1/10/0
thread 7 pid 42
  mod.child@0 self@2 1/10/0
`
	if got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	p := b.Profile()
	if p.Period != 10*time.Millisecond || p.Default != callgraph.Wall || len(p.Values) != 3 {
		t.Errorf("period %v default %v values %v", p.Period, p.Default, p.Values)
	}
	// The interior f comes before its leaf sibling, so Node.Child finds it.
	mod := p.Threads[1].Root.Children[0]
	if c := mod.Child(mod.Children[0].Func, 30); c != mod.Children[0] || len(c.Children) == 0 {
		t.Errorf("Node.Child found %+v, want the interior node", c)
	}
}

// TestBuilderLineUnknown: a frame sampled at no line (an instruction the
// line table does not cover) is the node of its calls, one node per
// identity (function, call line, self line), not a second node beside it
// that every view merges with it.
func TestBuilderLineUnknown(t *testing.T) {
	b := NewBuilder(Options{Rate: 100, Idle: true})
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 7, Frames: []Frame{fr("<module>", 30), fr("f", 0)}}}})
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 7, Frames: []Frame{fr("<module>", 30), fr("f", 12), fr("g", 5)}}}})
	want := `thread 7 pid 0
  mod.<module>@0 2/20/0
    mod.f@30 2/20/0
      mod.g@12 self@5 1/10/0
`
	if got := dump(b.Profile()); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestBuilderIdle(t *testing.T) {
	b := NewBuilder(Options{Rate: 100, Idle: false})
	b.Add(0, &Snapshot{Threads: []ThreadStack{
		{TID: 1, Frames: []Frame{fr("run", 3)}, OnCPU: true},
		{TID: 2, Frames: []Frame{fr("wait", 4)}},
	}})
	if p := b.Profile(); len(p.Threads) != 1 || p.Threads[0].ID != 1 {
		t.Errorf("threads %+v, want only the running thread 1", p.Threads)
	}
}

func TestBuilderInternsFunctions(t *testing.T) {
	b := NewBuilder(Options{Rate: 10, Idle: true})
	// The same function, its code object recreated.
	f1 := Frame{Code: &Code{Filename: "/p/mod.py", Qualname: "f", FirstLine: 1}, Line: 3}
	f2 := Frame{Code: &Code{Filename: "/p/mod.py", Qualname: "f", FirstLine: 1}, Line: 3}
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 1, Frames: []Frame{f1}}, {TID: 2, Frames: []Frame{f2}}}})
	p := b.Profile()
	if len(p.Funcs) != 1 {
		t.Fatalf("funcs %+v, want one", p.Funcs)
	}
	if f := p.Funcs[0]; f != (callgraph.Func{Name: "mod.f", Filename: "/p/mod.py", StartLine: 1, Kind: callgraph.KindPython}) {
		t.Errorf("func %+v", f)
	}
}

// TestBuilderInternsByName: a function is one whatever name its module
// went by when the sampler read it. The import system's functions say
// _frozen_importlib, closures it makes once importlib has renamed it say
// importlib._bootstrap: one function, as the trace has it.
func TestBuilderInternsByName(t *testing.T) {
	b := NewBuilder(Options{Rate: 10, Idle: true})
	code := func(module string) Frame {
		return Frame{Code: &Code{Module: module, Filename: "<frozen importlib._bootstrap>", Qualname: "_find_and_load", FirstLine: 1}, Line: 3}
	}
	b.Add(0, &Snapshot{Threads: []ThreadStack{
		{TID: 1, Frames: []Frame{code("_frozen_importlib")}},
		{TID: 2, Frames: []Frame{code("importlib._bootstrap")}},
	}})
	p := b.Profile()
	if len(p.Funcs) != 1 || p.Funcs[0].Name != "importlib._bootstrap._find_and_load" {
		t.Errorf("funcs %+v, want importlib._bootstrap._find_and_load once", p.Funcs)
	}
}

// TestBuilderTimes checks the wall and CPU time each snapshot carries: the
// time since the previous snapshot (late ticks carry the missed ones, up to
// max(maxGapPeriods periods, minGapCap)), and the thread's CPU time since
// its previous sample, never more than the wall time it goes with.
func TestBuilderTimes(t *testing.T) {
	b := NewBuilder(Options{Rate: 100, Idle: true}) // 10 ms period
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	steps := []struct {
		at       time.Duration
		cpu      time.Duration // thread's total CPU time
		onCPU    bool
		wantWall time.Duration
		wantCPU  time.Duration
	}{
		{0, 5 * ms, true, 10 * ms, 10 * ms},        // first sample: one period, on CPU
		{10 * ms, 12 * ms, true, 10 * ms, 7 * ms},  // on schedule
		{40 * ms, 14 * ms, false, 30 * ms, 2 * ms}, // two ticks missed
		// The gap capped at minGapCap, the CPU at the wall it goes with:
		// the excess of both goes to the unobserved marker.
		{540 * ms, 900 * ms, true, 250 * ms, 250 * ms},
	}
	var wall, cpu time.Duration
	for i, s := range steps {
		b.Add(0, &Snapshot{Time: t0.Add(s.at), Threads: []ThreadStack{
			{TID: 1, OnCPU: s.onCPU, CPUTime: s.cpu, Frames: []Frame{fr("f", 1)}},
		}})
		n := b.Profile().Threads[0].Root.Children[0]
		gotWall := time.Duration(n.Total[callgraph.Wall]) - wall
		gotCPU := time.Duration(n.Total[callgraph.CPU]) - cpu
		wall, cpu = wall+gotWall, cpu+gotCPU
		if gotWall != s.wantWall || gotCPU != s.wantCPU {
			t.Errorf("step %d: wall %v cpu %v, want %v %v", i, gotWall, gotCPU, s.wantWall, s.wantCPU)
		}
	}
}

// TestBuilderCPUBeforeSleep checks that CPU time used between a sample on
// CPU and one off CPU goes to the stack seen on CPU, where the thread spent
// it before it went to sleep, with or without idle stacks.
func TestBuilderCPUBeforeSleep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	for _, idle := range []bool{true, false} {
		b := NewBuilder(Options{Rate: 100, Idle: idle})
		for _, s := range []struct {
			at, cpu time.Duration
			onCPU   bool
			leaf    string
		}{
			{0, 100 * ms, true, "spin"},         // first sample: one period guessed
			{10 * ms, 106 * ms, false, "nap"},   // 6 ms of CPU, then asleep
			{20 * ms, 106 * ms, false, "nap"},   // asleep throughout
			{30 * ms, 110 * ms, true, "spin"},   // woke up and spun: its own
			{40 * ms, 120 * ms, true, "spin"},   // on CPU at both ends: now's
			{50 * ms, 121 * ms, false, "other"}, // 1 ms, then asleep elsewhere
		} {
			b.Add(0, &Snapshot{Time: t0.Add(s.at), Threads: []ThreadStack{
				{TID: 1, OnCPU: s.onCPU, CPUTime: s.cpu, Frames: []Frame{fr("main", 3), fr(s.leaf, 1)}},
			}})
		}
		got := map[string]time.Duration{}
		p := b.Profile()
		p.Threads[0].Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			got[p.Funcs[n.Func].Name] += time.Duration(n.Total[callgraph.CPU])
		})
		want := map[string]time.Duration{"mod.main": 31 * ms, "mod.spin": 31 * ms, "mod.nap": 0, "mod.other": 0}
		if !idle {
			delete(want, "mod.nap")
			delete(want, "mod.other")
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("idle %v: cpu %v, want %v\n%s", idle, got, want, dump(p))
		}
	}
}

// TestBuilderGIL checks that a sample's wall time counts as GIL time on
// its path when its thread held the GIL, and that the gil value exists
// only for interpreters that have a GIL.
func TestBuilderGIL(t *testing.T) {
	b := NewBuilder(Options{Rate: 100, Idle: true}) // 10 ms period
	stack := []Frame{fr("<module>", 3), fr("f", 7)}
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 1, Frames: stack}}})
	if p := b.Profile(); p.Has(callgraph.GIL) {
		t.Errorf("values %v after a snapshot of a free-threaded interpreter, want no gil", p.Values)
	}
	b = NewBuilder(Options{Rate: 100, Idle: true})
	for _, held := range []bool{true, false, true, true} {
		b.Add(0, &Snapshot{GIL: true, Threads: []ThreadStack{
			{TID: 1, HasGIL: held, Frames: stack},
			{TID: 2, HasGIL: false, Frames: []Frame{fr("wait", 9)}},
		}})
	}
	p := b.Profile()
	if !p.Has(callgraph.GIL) {
		t.Fatalf("values %v, want gil", p.Values)
	}
	ms := int64(time.Millisecond)
	for _, c := range []struct {
		thread    int
		wall, gil int64
	}{{0, 40 * ms, 30 * ms}, {1, 40 * ms, 0}} {
		root := p.Threads[c.thread].Root.Children[0]
		leaf := root
		for len(leaf.Children) > 0 {
			leaf = leaf.Children[0]
		}
		for _, n := range []*callgraph.Node{root, leaf} {
			if n.Total[callgraph.Wall] != c.wall || n.Total[callgraph.GIL] != c.gil {
				t.Errorf("thread %d %s: wall %d gil %d, want %d %d", p.Threads[c.thread].ID,
					p.Funcs[n.Func].Name, n.Total[callgraph.Wall], n.Total[callgraph.GIL], c.wall, c.gil)
			}
		}
	}
}

// TestBuilderOuterFrames checks where a stack that kept changing goes: its
// outer frames, which stood still, get the sample, and the marker below
// them stands for the frames that could not be read.
func TestBuilderOuterFrames(t *testing.T) {
	b := NewBuilder(Options{Rate: 100, Idle: true})
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 7, Frames: []Frame{fr("<module>", 30), fr("f", 12), fr("g", 5)}}}})
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 7, Dropped: true, Frames: []Frame{fr("<module>", 30), fr("f", 12)}}}})
	b.Add(0, &Snapshot{Threads: []ThreadStack{{TID: 7, Dropped: true}}})
	got := dump(b.Profile())
	want := `thread 7 pid 0
  mod.<module>@0 2/20/0
    mod.f@30 2/20/0
      mod.g@12 self@5 1/10/0
      <pyprof: stack changed while read>@12 1/10/0
  <pyprof: stack changed while read>@0 1/10/0
`
	if got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

// TestBuilderGapShares checks how the wall time of late ticks is shared
// out: by the thread's scheduler clocks between a stack seen running and
// one seen asleep, in halves between two of the same state, and past the
// gap bound to the [unobserved] marker, never wholly to the sample that
// ends the gap.
func TestBuilderGapShares(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	b := NewBuilder(Options{Rate: 100, Idle: true}) // 10 ms period
	for _, s := range []struct {
		name          string
		at, cpu, wait time.Duration
		onCPU         bool
		leaf          string
	}{
		{"first sample: one period", 0, 100 * ms, 0, true, "spin"},
		{"three ticks missed: 10 ms ran or waited, then asleep", 40 * ms, 105 * ms, 5 * ms, false, "nap"},
		{"asleep at both ends: halves", 50 * ms, 105 * ms, 5 * ms, false, "nap"},
		{"woke up: 2 ms running, the rest asleep", 60 * ms, 107 * ms, 5 * ms, true, "spin"},
		{"600 ms gap: 250 ms shared in halves, the rest unobserved", 660 * ms, 357 * ms, 5 * ms, true, "spin"},
	} {
		b.Add(0, &Snapshot{Time: t0.Add(s.at), Threads: []ThreadStack{
			{TID: 1, OnCPU: s.onCPU, CPUTime: s.cpu, WaitTime: s.wait, Frames: []Frame{fr("main", 3), fr(s.leaf, 1)}},
		}})
	}
	p := b.Profile()
	got := map[string]time.Duration{}
	for _, n := range p.Threads[0].Root.Children {
		got[p.Funcs[n.Func].Name] = time.Duration(n.Total[callgraph.Wall])
		for _, c := range n.Children {
			got[p.Funcs[c.Func].Name] += time.Duration(c.Total[callgraph.Wall])
		}
	}
	want := map[string]time.Duration{
		"mod.main":     (10 + 40 + 10 + 10 + 250) * ms,
		"mod.spin":     (10 + 10 + 2 + 250) * ms,
		"mod.nap":      (30 + 10 + 8) * ms,
		unobservedName: 350 * ms,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("wall %v, want %v\n%s", got, want, dump(p))
	}
	if u := b.Unobserved(); u != 350*ms {
		t.Errorf("Unobserved() = %v, want 350ms", u)
	}
}

// TestBuilderCPUWithinWall checks that no node gets more CPU time than
// wall time, whichever ends of the gaps between samples ran.
func TestBuilderCPUWithinWall(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	type sample struct {
		at, cpu time.Duration
		onCPU   bool
		leaf    string
	}
	for _, tc := range []struct {
		name    string
		samples []sample
		want    map[string]time.Duration // CPU time by function
	}{
		{
			name: "a function seen once between two others, all running",
			samples: []sample{{0, 100 * ms, true, "a"}, {10 * ms, 110 * ms, true, "a"},
				{20 * ms, 120 * ms, true, "short"}, {30 * ms, 130 * ms, true, "b"}},
			want: map[string]time.Duration{"mod.a": 25 * ms, "mod.short": 10 * ms, "mod.b": 5 * ms},
		},
		{
			name:    "the last sample",
			samples: []sample{{0, 100 * ms, true, "a"}, {10 * ms, 110 * ms, true, "b"}},
			want:    map[string]time.Duration{"mod.a": 15 * ms, "mod.b": 5 * ms},
		},
		{
			// 4 ms run unseen between two sleeps go where the thread was
			// seen running: spin's 6 + 5 + 4.
			name: "a run between two sleeps",
			samples: []sample{{0, 100 * ms, false, "nap"}, {10 * ms, 104 * ms, false, "nap"},
				{20 * ms, 110 * ms, true, "spin"}, {30 * ms, 115 * ms, true, "spin"}},
			want: map[string]time.Duration{"mod.nap": 0, "mod.spin": 15 * ms},
		},
		{
			// The scheduler's clock of a running thread moves in steps:
			// what one gap cannot take goes to the next ones, which read
			// none (10 ms first, then 10 ms a gap from the first step on).
			name: "a clock that moves in steps of four gaps",
			samples: []sample{{0, 100 * ms, true, "a"}, {10 * ms, 100 * ms, true, "a"}, {20 * ms, 100 * ms, true, "a"},
				{30 * ms, 100 * ms, true, "a"}, {40 * ms, 140 * ms, true, "a"}, {50 * ms, 140 * ms, true, "b"},
				{60 * ms, 140 * ms, true, "b"}, {70 * ms, 140 * ms, true, "b"}, {80 * ms, 180 * ms, true, "b"}},
			want: map[string]time.Duration{"mod.a": 25 * ms, "mod.b": 35 * ms},
		},
		{
			name:    "no clocks",
			samples: []sample{{0, 0, true, "a"}, {10 * ms, 0, true, "b"}, {20 * ms, 0, false, "nap"}},
			want:    map[string]time.Duration{"mod.a": 15 * ms, "mod.b": 10 * ms, "mod.nap": 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder(Options{Rate: 100, Idle: true}) // 10 ms period
			for _, s := range tc.samples {
				b.Add(0, &Snapshot{Time: t0.Add(s.at), Threads: []ThreadStack{
					{TID: 1, OnCPU: s.onCPU, CPUTime: s.cpu, Frames: []Frame{fr("main", 3), fr(s.leaf, 1)}},
				}})
			}
			p := b.Profile()
			got := map[string]time.Duration{}
			p.Threads[0].Root.Walk(func(path []*callgraph.Node) {
				n := path[len(path)-1]
				if n.Total[callgraph.CPU] > n.Total[callgraph.Wall] {
					t.Errorf("%s: cpu %v over wall %v", p.Funcs[n.Func].Name,
						time.Duration(n.Total[callgraph.CPU]), time.Duration(n.Total[callgraph.Wall]))
				}
				if len(path) == 2 {
					got[p.Funcs[n.Func].Name] += time.Duration(n.Total[callgraph.CPU])
				}
			})
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("cpu %v, want %v\n%s", got, tc.want, dump(p))
			}
		})
	}
}
