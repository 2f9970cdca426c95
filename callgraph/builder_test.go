package callgraph

import (
	"fmt"
	"strings"
	"testing"
)

// script is a readable event sequence for one thread. Each step is
// "kind name [site] [#tag] @time": kinds start, resume, throw, return,
// yield, unwind, call (native), creturn; sites are code-unit offsets in
// the caller; tags are the frame tags of yield, resume and throw (none
// when left out).
type script []string

// fixture defines the code objects and natives the scripts refer to.
type fixture struct {
	b       *Builder
	codes   map[string]CodeID
	natives map[string]NativeID
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{b: NewBuilder(), codes: map[string]CodeID{}, natives: map[string]NativeID{}}
	// Every code has a line table mapping offsets 0..9 to its first line,
	// 10..19 to the next, and so on.
	for i, name := range []string{"main", "f", "g", "gen", "outer", "inner", "key", "boot", "runpy"} {
		id := CodeID(i + 1)
		first := 10 * (i + 1)
		c := &Code{Qualname: name, Filename: "/app/m.py", FirstLine: first, Hidden: name == "boot" || name == "runpy"}
		for off := uint32(0); off < 100; off += 10 {
			c.Lines = append(c.Lines, LineRange{Start: off, Line: int32(first + int(off)/10)})
		}
		f.b.DefineCode(id, c)
		f.codes[name] = id
	}
	for i, name := range []string{"builtins.len", "builtins.sorted", "int", "time.sleep", "generator.throw", "builtins.next"} {
		f.b.DefineNative(NativeID(i+1), name)
		f.natives[name] = NativeID(i + 1)
	}
	return f
}

func (f *fixture) run(t *testing.T, tid int64, s script) *ThreadBuilder {
	t.Helper()
	tb := f.b.NewThread(tid)
	f.runOn(t, tb, s)
	return tb
}

// runOn plays s on tb.
func (f *fixture) runOn(t *testing.T, tb *ThreadBuilder, s script) {
	t.Helper()
	for _, step := range s {
		var kind, name string
		var site uint32 = SiteNone
		var at int64
		tag := TagNone
		fields := strings.Fields(step)
		kind, name = fields[0], fields[1]
		for _, fl := range fields[2:] {
			if strings.HasPrefix(fl, "@") {
				fmt.Sscan(fl[1:], &at)
			} else if strings.HasPrefix(fl, "#") {
				fmt.Sscan(fl[1:], &tag)
			} else {
				fmt.Sscan(fl, &site)
			}
		}
		switch kind {
		case "start":
			tb.EnterPython(f.codes[name], site, true, at)
		case "resume":
			tb.ResumePython(f.codes[name], tag, at)
		case "throw":
			tb.ThrowPython(f.codes[name], tag, at)
		case "yield":
			tb.YieldPython(f.codes[name], tag, at)
		case "return", "unwind":
			tb.LeavePython(f.codes[name], at)
		case "call":
			tb.EnterNative(f.natives[name], site, at)
		case "creturn":
			tb.LeaveNative(f.natives[name], at)
		default:
			t.Fatalf("bad step %q", step)
		}
	}
}

// render prints a thread's tree: one line per node, indented by depth,
// "name:callLine calls=N wall=T".
func render(p *Profile, th *Thread) string {
	var b strings.Builder
	th.Root.Walk(func(path []*Node) {
		n := path[len(path)-1]
		fmt.Fprintf(&b, "%s%s:%d calls=%d wall=%d\n", strings.Repeat("  ", len(path)-1),
			p.Funcs[n.Func].Name, n.CallLine, n.Total[Calls], n.Total[Wall])
	})
	return b.String()
}

func TestBuilder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events script
		end    int64
		want   string
	}{
		{
			name: "calls with call sites",
			events: script{"start main @0", "start f 12 @10", "return f @20", "start f 12 @30", "return f @35",
				"start g 24 @40", "return g @50", "return main @100"},
			want: `m.main:0 calls=1 wall=100
  m.f:11 calls=2 wall=15
  m.g:12 calls=1 wall=10
`,
		},
		{
			name: "recursion",
			events: script{"start main @0", "start f 5 @0", "start f 30 @1", "start f 30 @2", "return f @3",
				"return f @4", "start f 30 @5", "return f @6", "return f @7", "return main @8"},
			want: `m.main:0 calls=1 wall=8
  m.f:10 calls=1 wall=7
    m.f:23 calls=2 wall=4
      m.f:23 calls=1 wall=1
`,
		},
		{
			name: "a generator resumed goes on in the node it started in",
			events: script{"start main @0", "start gen 3 @0", "yield gen @1", "resume gen @2", "yield gen @3",
				"resume gen @4", "return gen @5", "return main @6"},
			want: `m.main:0 calls=1 wall=6
  m.gen:10 calls=1 wall=3
`,
		},
		{
			name: "yield from chain resumed under another caller",
			events: script{"start main @0", "start outer 1 @0", "start inner 2 @0", "yield inner @1", "yield outer @1",
				"start f 8 @2", "resume outer @2", "resume inner @2", "return inner @3", "return outer @3",
				"return f @4", "return main @5"},
			// f resumed what main started: outer's second run is main's
			// child's, and not f's time.
			want: `m.main:0 calls=1 wall=5
  m.outer:10 calls=1 wall=2
    m.inner:50 calls=1 wall=2
  m.f:10 calls=1 wall=1
`,
		},
		{
			name: "exception unwinds many frames",
			events: script{"start main @0", "start f 1 @0", "start g 1 @1", "start g 1 @2", "call int 5 @3",
				"creturn int @4", "unwind g @5", "unwind g @6", "unwind f @7", "return main @8"},
			want: `m.main:0 calls=1 wall=8
  m.f:10 calls=1 wall=7
    m.g:20 calls=1 wall=5
      m.g:30 calls=1 wall=3
        int:30 calls=1 wall=1
`,
		},
		{
			name: "native calling back into python",
			events: script{"start main @0", "call builtins.sorted 7 @0", "start key @1", "return key @2",
				"start key @3", "return key @4", "creturn builtins.sorted @5", "return main @6"},
			want: `m.main:0 calls=1 wall=6
  builtins.sorted:10 calls=1 wall=5
    m.key:0 calls=2 wall=2
`,
		},
		{
			name:   "frames running before monitoring began",
			events: script{"return f @5", "start g @6", "return g @8", "unwind main @9", "start f @10", "return f @12"},
			want: `m.g:0 calls=1 wall=2
m.f:0 calls=1 wall=2
`,
		},
		{
			name:   "frames still open at exit close at the end",
			events: script{"start main @0", "start f 2 @10", "call builtins.len 4 @20"},
			end:    50,
			want: `m.main:0 calls=1 wall=50
  m.f:10 calls=1 wall=40
    builtins.len:20 calls=1 wall=30
`,
		},
		{
			name:   "C_RETURN without a CALL is ignored",
			events: script{"start main @0", "creturn builtins.len @1", "start f @2", "return f @3", "return main @4"},
			want: `m.main:0 calls=1 wall=4
  m.f:0 calls=1 wall=1
`,
		},
		{
			name: "CALL without C_RETURN closes with its python caller",
			events: script{"start main @0", "start f 1 @0", "call builtins.len 2 @1", "return f @3",
				"start g 3 @4", "return g @5", "return main @6"},
			want: `m.main:0 calls=1 wall=6
  m.f:10 calls=1 wall=3
    builtins.len:20 calls=1 wall=2
  m.g:10 calls=1 wall=1
`,
		},
		{
			name: "hidden start-up frames are transparent",
			events: script{"start boot @0", "start runpy @0", "call builtins.len @1", "creturn builtins.len @2",
				"start main 3 @3", "start f 1 @4", "return f @5", "return main @6", "return runpy @7", "return boot @8"},
			want: `m.main:0 calls=1 wall=3
  m.f:10 calls=1 wall=1
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.run(t, 7, tc.events)
			p := f.b.Finish(FinishOptions{End: tc.end, NanosPerTick: 1})
			if len(p.Threads) != 1 {
				t.Fatalf("got %d threads", len(p.Threads))
			}
			if got := render(p, p.Threads[0]); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestBuilderMergesCallSitesOnOneLine(t *testing.T) {
	f := newFixture(t)
	// Offsets 11 and 15 are both on main's line 11: one node.
	f.run(t, 1, script{"start main @0", "start f 11 @0", "return f @1", "start f 15 @2", "return f @3", "return main @4"})
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	want := "m.main:0 calls=1 wall=4\n  m.f:11 calls=2 wall=2\n"
	if got := render(p, p.Threads[0]); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestBuilderThreadsAndLost(t *testing.T) {
	f := newFixture(t)
	a := f.run(t, 100, script{"start main @0", "return main @10"})
	a.Name = "MainThread"
	b := f.run(t, 101, script{"start f @0", "return f @4"})
	b.Name = "worker"
	f.run(t, 102, script{}) // a thread that recorded nothing is left out
	f.b.AddLost(3)
	p := f.b.Finish(FinishOptions{NanosPerTick: 2})
	if len(p.Threads) != 2 || p.Threads[0].Name != "MainThread" || p.Threads[1].ID != 101 {
		t.Fatalf("threads: %+v", p.Threads)
	}
	if got := p.Total(Wall); got != 28 {
		t.Errorf("total wall %d, want 28 (ticks scaled by 2)", got)
	}
	want := "m.main:0 calls=1 wall=20\n[lost 3 events]:0 calls=3 wall=0\n"
	if got := render(p, p.Threads[0]); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	if p.Lost != 3 {
		t.Errorf("Lost = %d", p.Lost)
	}
}

func TestBuilderManyChildren(t *testing.T) {
	b := NewBuilder()
	for i := 1; i <= 100; i++ {
		b.DefineCode(CodeID(i), &Code{Qualname: fmt.Sprint("f", i), Filename: "x.py", FirstLine: i})
	}
	tb := b.NewThread(1)
	for round := 0; round < 3; round++ {
		for i := 1; i <= 100; i++ {
			tb.EnterPython(CodeID(i), SiteNone, true, 0)
			tb.LeavePython(CodeID(i), 1)
		}
	}
	p := b.Finish(FinishOptions{NanosPerTick: 1})
	root := p.Threads[0].Root
	if len(root.Children) != 100 {
		t.Fatalf("%d children, want 100", len(root.Children))
	}
	for _, c := range root.Children {
		if c.Total[Calls] != 3 || c.Total[Wall] != 3 {
			t.Fatalf("%s: %v", p.Funcs[c.Func].Name, c.Total)
		}
	}
}

func TestFuncsAreInternedByNameFileAndLine(t *testing.T) {
	b := NewBuilder()
	// Two code objects of the same function (say, re-created by exec).
	b.DefineCode(1, &Code{Qualname: "f", Filename: "a.py", FirstLine: 3})
	b.DefineCode(2, &Code{Qualname: "f", Filename: "a.py", FirstLine: 3})
	b.DefineCode(3, &Code{Qualname: "f", Filename: "b.py", FirstLine: 3})
	tb := b.NewThread(1)
	for _, c := range []CodeID{1, 2, 3} {
		tb.EnterPython(c, SiteNone, true, 0)
		tb.LeavePython(c, 1)
	}
	p := b.Finish(FinishOptions{NanosPerTick: 1})
	if len(p.Funcs) != 2 {
		t.Fatalf("funcs %+v, want a.f and b.f", p.Funcs)
	}
	if n := p.Threads[0].Root.Children[0]; n.Total[Calls] != 2 {
		t.Errorf("a.f calls %d, want 2", n.Total[Calls])
	}
}

func BenchmarkBuilderFib(b *testing.B) {
	bl := NewBuilder()
	bl.DefineCode(1, &Code{Qualname: "fib", Filename: "fib.py", FirstLine: 1})
	tb := bl.NewThread(1)
	var ts int64
	var fib func(n int)
	fib = func(n int) {
		ts++
		tb.EnterPython(1, 3, true, ts)
		if n >= 2 {
			fib(n - 1)
			fib(n - 2)
		}
		ts++
		tb.LeavePython(1, ts)
	}
	b.ResetTimer()
	events := 0
	for i := 0; i < b.N; i++ {
		fib(20)
		events += 2 * 21891
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds()/1e6, "Mevents/s")
}

// TestTreeSizeIsContextsNotCalls: fib's two recursive calls sit on one
// line at different offsets; the tree must hold one node per depth, not
// one per call, or memory grows with the run instead of staying flat.
func TestTreeSizeIsContextsNotCalls(t *testing.T) {
	b := NewBuilder()
	b.DefineCode(1, &Code{Qualname: "fib", Filename: "fib.py", FirstLine: 5,
		Lines: []LineRange{{0, 5}, {2, 6}, {40, 7}}})
	tb := b.NewThread(1)
	var fib func(n int, site uint32)
	fib = func(n int, site uint32) {
		tb.EnterPython(1, site, true, 0)
		if n >= 2 {
			fib(n-1, 12)
			fib(n-2, 20)
		}
		tb.LeavePython(1, 1)
	}
	fib(18, SiteNone)
	var nodes func(n *bnode) int
	nodes = func(n *bnode) int {
		total := 1
		for _, c := range n.children {
			total += nodes(c)
		}
		return total
	}
	if got := nodes(&tb.root) - 1; got != 18 {
		t.Errorf("%d nodes for fib(18), want 18 (one per depth)", got)
	}
}

func TestTimelineKeepsLongCallsWithinItsBound(t *testing.T) {
	f := newFixture(t)
	f.b.RecordTimeline(10, 3)
	tb := f.run(t, 9, script{"start main @100", "start f 1 @100", "return f @105", // 5: too short
		"start f 1 @110", "return f @130", // 20
		"start g 1 @130", "return g @170", // 40
		"call builtins.len 2 @170", "creturn builtins.len @182", // 12
		"return main @200"}) // 100
	tb.Name = "MainThread"
	p := f.b.Finish(FinishOptions{NanosPerTick: 1, StartTick: 100})
	// Four calls reached 10 ticks; the bound of 3 raised the floor to 20.
	var got []string
	for _, s := range p.Timeline {
		got = append(got, fmt.Sprintf("%s@%d+%d", p.Funcs[s.Func].Name, s.Start, s.Dur))
	}
	want := "m.main@0+100 m.f@10+20 m.g@30+40"
	if strings.Join(got, " ") != want || p.TimelineMin != 20 {
		t.Errorf("timeline %v (min %v), want %s (min 20)", got, p.TimelineMin, want)
	}
}

// TestProcessesHaveTheirOwnIDs: a child process numbers its code objects
// and callables on its own, so the same ids name other functions there;
// its threads carry its pid, the program's carry 0.
func TestProcessesHaveTheirOwnIDs(t *testing.T) {
	b := NewBuilder()
	b.DefineCode(1, &Code{Qualname: "parent", Filename: "p.py", FirstLine: 1})
	b.DefineNative(1, "builtins.len")
	child := b.NewProcess(42)
	child.DefineCode(1, &Code{Qualname: "child", Filename: "c.py", FirstLine: 1})
	child.DefineNative(1, "builtins.print")
	for _, tb := range []*ThreadBuilder{b.NewThread(7), child.NewThread(42)} {
		tb.EnterPython(1, SiteNone, true, 0)
		tb.EnterNative(1, SiteNone, 1)
		tb.LeaveNative(1, 2)
		tb.LeavePython(1, 3)
	}
	p := b.Finish(FinishOptions{NanosPerTick: 1})
	var got []string
	for _, th := range p.Threads {
		got = append(got, fmt.Sprintf("%d/%d %s", th.PID, th.ID, strings.TrimSpace(render(p, th))))
	}
	want := []string{"0/7 p.parent:0 calls=1 wall=3\n  builtins.len:0 calls=1 wall=1", "42/42 c.child:0 calls=1 wall=3\n  builtins.print:0 calls=1 wall=1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("threads:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if child.PID() != 42 || b.Main().PID() != 0 {
		t.Errorf("pids %d and %d", child.PID(), b.Main().PID())
	}
}

// TestProcessClocks: a child that exited has its open frames closed when
// it ended, not at the recording's end; one that counts nanoseconds (the
// twin under a TSC parent) is not scaled by the ticks' rate.
func TestProcessClocks(t *testing.T) {
	b := NewBuilder()
	code := &Code{Qualname: "f", Filename: "f.py", FirstLine: 1}
	b.DefineCode(1, code)
	b.NewThread(1).EnterPython(1, SiteNone, true, 100) // open at the end
	exited := b.NewProcess(2)
	exited.DefineCode(1, code)
	exited.NewThread(2).EnterPython(1, SiteNone, true, 100)
	exited.Exit(150)
	nanos := b.NewProcess(3)
	nanos.CountsNanoseconds()
	nanos.DefineCode(1, code)
	tb := nanos.NewThread(3)
	tb.EnterPython(1, SiteNone, true, 5000)
	tb.LeavePython(1, 6000)
	nanos.NewThread(4).EnterPython(1, SiteNone, true, 9000) // open at the end
	p := b.Finish(FinishOptions{End: 200, NanosPerTick: 2, StartNanos: 1000, EndNanos: 10000})
	var got []int64
	for _, th := range p.Threads {
		got = append(got, th.Root.Children[0].Total[Wall])
	}
	// (200-100)*2, (150-100)*2, 6000-5000, 10000-9000
	if fmt.Sprint(got) != "[200 100 1000 1000]" {
		t.Errorf("wall times %v, want [200 100 1000 1000]", got)
	}
}

// cpuStep is one step of a CPU test: an event ("start spin @5"), or a
// reading of the thread's CPU clock ("cpu 5 on @10", "cpu 5 off @10").
type cpuStep = string

// runCPU plays steps on one thread whose ticks are nanoseconds and returns
// each function's CPU and wall time and the profile.
func runCPU(t *testing.T, steps []cpuStep) (cpu, wall map[string]int64, p *Profile) {
	t.Helper()
	f := newFixture(t)
	f.b.MeasureCPU()
	tb := f.b.NewThread(1)
	for _, step := range steps {
		var ns, at int64
		var state string
		if n, _ := fmt.Sscanf(step, "cpu %d %s @%d", &ns, &state, &at); n == 3 {
			tb.ChargeCPU(ns, state == "on", at, 1000+at)
			continue
		}
		f.runOn(t, tb, script{step})
	}
	p = f.b.Finish(FinishOptions{NanosPerTick: 1})
	cpu, wall = map[string]int64{}, map[string]int64{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*Node) {
			n := path[len(path)-1]
			cpu[p.Funcs[n.Func].Name] += n.Self(CPU)
			wall[p.Funcs[n.Func].Name] += n.Self(Wall)
		})
	}
	return cpu, wall, p
}

// TestChargeCPU checks where ChargeCPU puts the CPU time of a period: no
// function more than it ran in the period; the frame running at the
// reading first when the thread is on CPU, last when it sleeps; what no
// frame ran counted as unplaced.
func TestChargeCPU(t *testing.T) {
	for _, tc := range []struct {
		name     string
		steps    []cpuStep
		want     map[string]int64
		unplaced int64
	}{
		{
			name: "a short call running at the reading gets only what it ran",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "start f 5 @90", "cpu 100 on @100",
				"return f @100", "return main @100"},
			want: map[string]int64{"m.main": 89, "m.f": 10},
			// the tick before main started: no frame ran it
			unplaced: 1,
		},
		{
			name: "a sleep after a spin: the spin used the CPU",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "start f 5 @1", "return f @50",
				"call time.sleep 9 @50", "cpu 49 off @100", "creturn time.sleep @120", "return main @120"},
			want: map[string]int64{"m.main": 0, "m.f": 49, "time.sleep": 0},
		},
		{
			name: "a spin after a sleep, on CPU at the reading: the spin first",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "call time.sleep 9 @1", "creturn time.sleep @50",
				"start f 5 @50", "cpu 49 on @99", "return f @99", "return main @99"},
			want: map[string]int64{"m.main": 0, "m.f": 49, "time.sleep": 0},
		},
		{
			name: "the rest shared by the time each ran",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "start f 5 @1", "return f @31",
				"start g 5 @31", "return g @41", "start key 7 @41", "cpu 92 on @101", "return key @101",
				"return main @101"},
			want: map[string]int64{"m.main": 0, "m.f": 24, "m.g": 8, "m.key": 60},
		},
		{
			name: "native code running without events runs to the reading",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "call builtins.sorted 5 @1", "cpu 100 on @101",
				"cpu 100 on @201", "creturn builtins.sorted @201", "return main @201"},
			want: map[string]int64{"m.main": 0, "builtins.sorted": 200},
		},
		{
			// The scheduler updates a running thread's clock at its ticks:
			// the second reading carries CPU time the first period used.
			name: "a clock that lags: the CPU goes to the periods that used it",
			steps: []cpuStep{"start main @1", "cpu 0 on @1", "start f 5 @1", "cpu 0 on @11", "return f @11",
				"start g 5 @11", "cpu 20 on @21", "return g @21", "return main @21"},
			want: map[string]int64{"m.main": 0, "m.f": 10, "m.g": 10},
		},
		{
			name:     "more CPU than time between the readings is unplaced",
			steps:    []cpuStep{"start main @1", "cpu 0 on @1", "cpu 130 on @101", "return main @101"},
			want:     map[string]int64{"m.main": 100},
			unplaced: 30,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu, wall, p := runCPU(t, tc.steps)
			for name, want := range tc.want {
				if cpu[name] != want {
					t.Errorf("%s: cpu %d, want %d (all: %v)", name, cpu[name], want, cpu)
				}
			}
			for name := range cpu {
				if cpu[name] > wall[name] {
					t.Errorf("%s: self cpu %d over its self wall %d", name, cpu[name], wall[name])
				}
			}
			if got := p.CPUUnplaced.Nanoseconds(); got != tc.unplaced {
				t.Errorf("unplaced %d, want %d", got, tc.unplaced)
			}
		})
	}
}

// BenchmarkBuilderGenerator iterates a generator: each step a resumption
// and a yield of the generator on top of the loop that iterates it, the
// builder's commonest suspension.
func BenchmarkBuilderGenerator(b *testing.B) {
	bl := NewBuilder()
	bl.DefineCode(1, &Code{Qualname: "main", Filename: "gen.py", FirstLine: 1})
	bl.DefineCode(2, &Code{Qualname: "numbers", Filename: "gen.py", FirstLine: 5})
	tb := bl.NewThread(1)
	var ts int64
	ts++
	tb.EnterPython(1, 0, true, ts)
	ts++
	tb.EnterPython(2, 3, true, ts)
	ts++
	tb.YieldPython(2, TagNone, ts)
	b.ResetTimer()
	for b.Loop() {
		ts++
		tb.EnterPython(2, 3, false, ts)
		ts++
		tb.YieldPython(2, TagNone, ts)
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds()/1e6, "Mevents/s")
}

// BenchmarkFinishWideNode: one frame calling 20,000 distinct functions
// (a generated module's, a dispatcher's), the tree made into a Profile.
// Finding each child by a scan of the ones before it made this
// quadratic: minutes at a million callees.
func BenchmarkFinishWideNode(b *testing.B) {
	const callees = 20000
	for b.Loop() {
		bl := NewBuilder()
		bl.DefineCode(1, &Code{Qualname: "main", Filename: "gen.py", FirstLine: 1})
		for c := range callees {
			bl.DefineCode(CodeID(c+2), &Code{Qualname: fmt.Sprintf("f%d", c), Filename: "gen.py", FirstLine: c + 2})
		}
		tb := bl.NewThread(1)
		ts := int64(1)
		tb.EnterPython(1, 0, true, ts)
		for c := range callees {
			ts++
			tb.EnterPython(CodeID(c+2), 3, true, ts)
			ts++
			tb.LeavePython(CodeID(c+2), ts)
		}
		tb.LeavePython(1, ts+1)
		bl.Finish(FinishOptions{})
	}
}
