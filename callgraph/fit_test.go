package callgraph

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMergeSamplesFitsTheTrace checks that sampled CPU and GIL time merged
// into a traced profile never exceed a function's traced wall time, own or
// inclusive, and that what no traced call can hold is counted unplaced.
func TestMergeSamplesFitsTheTrace(t *testing.T) {
	main := Func{Name: "app.main", Filename: "app.py", StartLine: 1}
	short := Func{Name: "app.short", Filename: "app.py", StartLine: 10}
	for _, tc := range []struct {
		name string
		// traced main's wall, short's wall under it; sampled CPU (and
		// as much GIL) at main's own line and at short's.
		mainWall, shortWall, mainCPU, shortCPU int64
		want                                   string
		unplaced                               int64
	}{
		{
			name:     "a short call sampled for a whole period",
			mainWall: 100, shortWall: 4, mainCPU: 50, shortCPU: 10,
			// short keeps its 4; main's own time holds the other 6.
			want: "main cpu=60 gil=60 own=56 | short cpu=4 gil=4 own=4",
		},
		{
			name:     "more sampled than the thread's traced calls ran",
			mainWall: 30, shortWall: 10, mainCPU: 40, shortCPU: 10,
			want:     "main cpu=30 gil=30 own=20 | short cpu=10 gil=10 own=10",
			unplaced: 20,
		},
		{
			name:     "samples within the trace stay as they are",
			mainWall: 100, shortWall: 40, mainCPU: 30, shortCPU: 20,
			want: "main cpu=50 gil=50 own=30 | short cpu=20 gil=20 own=20",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trace := &Profile{Funcs: []Func{main, short}, Values: []Value{Calls, Wall}, Default: Wall}
			tm := &Node{Func: 0, Total: [NumValues]int64{Calls: 1, Wall: tc.mainWall}}
			ts := &Node{Func: 1, CallLine: 3, Parent: tm, Total: [NumValues]int64{Calls: 1, Wall: tc.shortWall}}
			tm.Children = []*Node{ts}
			trace.Threads = []*Thread{{ID: 1, Root: &Node{Children: []*Node{tm}}}}

			sampled := &Profile{Funcs: []Func{main, short}, Values: []Value{Samples, Wall, CPU, GIL}}
			v := func(x int64) [NumValues]int64 { return [NumValues]int64{CPU: x, GIL: x} }
			sm := &Node{Func: 0, Total: v(tc.shortCPU)}
			sl := &Node{Func: 1, CallLine: 3, SelfLine: 12, Parent: sm, Total: v(tc.shortCPU)}
			sm.Children = []*Node{sl}
			ml := &Node{Func: 0, SelfLine: 5, Total: v(tc.mainCPU)}
			sampled.Threads = []*Thread{{ID: 1, Root: &Node{Children: []*Node{sm, ml}}}}

			MergeSamples(trace, sampled)
			if got := fitSummary(trace); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if trace.CPUUnplaced != durationNS(tc.unplaced) || trace.GILUnplaced != durationNS(tc.unplaced) {
				t.Errorf("unplaced cpu %v gil %v, want %dns each", trace.CPUUnplaced, trace.GILUnplaced, tc.unplaced)
			}
		})
	}
}

// fitSummary sums, per function, inclusive CPU and GIL (no function here
// calls itself) and own CPU.
func fitSummary(p *Profile) string {
	type sums struct{ cpu, gil, own int64 }
	by := map[string]*sums{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*Node) {
			n := path[len(path)-1]
			name := p.Funcs[n.Func].Name[len("app."):]
			s := by[name]
			if s == nil {
				s = &sums{}
				by[name] = s
			}
			s.cpu += n.Total[CPU]
			s.gil += n.Total[GIL]
			s.own += n.Self(CPU)
		})
	}
	return fmt.Sprintf("main cpu=%d gil=%d own=%d | short cpu=%d gil=%d own=%d",
		by["main"].cpu, by["main"].gil, by["main"].own, by["short"].cpu, by["short"].gil, by["short"].own)
}

func durationNS(n int64) time.Duration { return time.Duration(n) }

// TestMergeSamplesGraftsTasks checks that a task's sampled stack, under the
// event loop's frames, merges into the task's traced frames, which stand
// under the line that started the loop.
func TestMergeSamplesGraftsTasks(t *testing.T) {
	funcs := []Func{
		{Name: "app.<module>", Filename: "app.py", StartLine: 1},
		{Name: "asyncio.runners.run", Filename: "runners.py", StartLine: 1},
		{Name: "asyncio.base_events.BaseEventLoop._run_once", Filename: "base_events.py", StartLine: 1},
		{Name: "asyncio.events.Handle._run", Filename: "events.py", StartLine: 1},
		{Name: "app.fetch", Filename: "app.py", StartLine: 5},
	}
	node := func(f FuncID, line int32, total [NumValues]int64, children ...*Node) *Node {
		n := &Node{Func: f, CallLine: line, Total: total, Children: children}
		for _, c := range children {
			c.Parent = n
		}
		return n
	}
	wall := func(w int64) [NumValues]int64 { return [NumValues]int64{Wall: w} }
	cpu := func(c int64) [NumValues]int64 { return [NumValues]int64{CPU: c, Samples: c} }

	// The trace: fetch under the module's line 11, beside the loop.
	traced := node(0, 0, wall(100),
		node(1, 11, wall(60), node(2, 20, wall(50), node(3, 30, wall(10)))),
		node(4, 11, wall(40)))
	trace := &Profile{Funcs: funcs, Values: []Value{Calls, Wall}, Threads: []*Thread{{ID: 1, Root: node(0, 0, [NumValues]int64{}, traced)}}}
	// The samples: fetch (30 of CPU at its line 6) under Handle._run,
	// the loop's own 5.
	fetchLeaf := &Node{Func: 4, CallLine: 31, SelfLine: 6, Total: cpu(30)}
	loopLeaf := &Node{Func: 2, CallLine: 20, SelfLine: 25, Total: cpu(5)}
	run := node(1, 11, cpu(35), node(2, 20, cpu(30), node(3, 30, cpu(30), fetchLeaf)), loopLeaf)
	sampled := &Profile{Funcs: funcs, Values: []Value{Samples, Wall, CPU},
		Threads: []*Thread{{ID: 1, Root: node(0, 0, cpu(0), node(0, 0, cpu(35), run))}}}

	MergeSamples(trace, sampled)
	got := map[string]int64{}
	trace.Threads[0].Root.Walk(func(path []*Node) {
		var names []string
		for _, n := range path {
			names = append(names, trace.Funcs[n.Func].Name[strings.LastIndex(trace.Funcs[n.Func].Name, ".")+1:])
		}
		got[strings.Join(names, ";")] += path[len(path)-1].Total[CPU]
	})
	want := map[string]int64{"<module>": 35, "<module>;run": 5, "<module>;run;_run_once": 5, "<module>;run;_run_once;_run": 0, "<module>;fetch": 30}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cpu by path %v, want %v", got, want)
	}
}

// TestGraftSampledTasksLeavesAsyncioCallbacks: of the sampled stacks under
// Handle._run, a task's coroutine and a callback go under the frame that
// started the loop; a socket's accept that asyncio's _accept_connection
// called stays under it.
func TestGraftSampledTasksLeavesAsyncioCallbacks(t *testing.T) {
	p := &Profile{Funcs: []Func{
		{Name: "app.<module>", Kind: KindPython},
		{Name: "asyncio.runners.run", Kind: KindPython},
		{Name: "asyncio.base_events.BaseEventLoop._run_once", Kind: KindPython},
		{Name: "asyncio.events.Handle._run", Kind: KindPython},
		{Name: "asyncio.selector_events.BaseSelectorEventLoop._accept_connection", Kind: KindPython},
		{Name: "socket.socket.accept", Kind: KindPython},
		{Name: "app.fetch", Kind: KindPython},
		{Name: "asyncio.tasks.Task.__step", Kind: KindPython},
		{Name: "app.on_timer", Kind: KindPython},
	}, Values: []Value{Samples}}
	node := func(f FuncID, samples int64, children ...*Node) *Node {
		n := &Node{Func: f, CallLine: 1, Total: [NumValues]int64{Samples: samples}, Children: children}
		for _, c := range children {
			c.Parent = n
		}
		return n
	}
	module := node(0, 18, node(1, 18, node(2, 18, node(3, 18,
		node(4, 5, node(5, 5)), node(6, 3), node(7, 4, node(8, 4))))))
	p.Threads = []*Thread{{ID: 1, Root: &Node{Children: []*Node{module}}}}
	module.Parent = p.Threads[0].Root
	p.graftSampledTasks()
	got := map[string]int64{}
	p.Threads[0].Root.Walk(func(path []*Node) {
		var names []string
		for _, n := range path {
			names = append(names, p.Funcs[n.Func].Name[strings.LastIndex(p.Funcs[n.Func].Name, ".")+1:])
		}
		got[strings.Join(names, ";")] = path[len(path)-1].Total[Samples]
	})
	want := map[string]int64{
		"<module>": 18, "<module>;run": 11, "<module>;run;_run_once": 11, "<module>;run;_run_once;_run": 11,
		"<module>;run;_run_once;_run;_accept_connection": 5, "<module>;run;_run_once;_run;_accept_connection;accept": 5,
		"<module>;run;_run_once;_run;__step": 0, "<module>;fetch": 3, "<module>;on_timer": 4,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("samples by path\n%v\nwant\n%v", got, want)
	}
}

// TestFitGivesSiblingsTheExcess: what a call cannot hold goes to its
// siblings with room before its caller.
func TestFitGivesSiblingsTheExcess(t *testing.T) {
	p := &Profile{Funcs: []Func{{Name: "app.main"}, {Name: "app.a"}, {Name: "app.b"}}}
	main := &Node{Func: 0, Total: [NumValues]int64{Calls: 1, Wall: 30, CPU: 18}}
	a := &Node{Func: 1, CallLine: 2, Parent: main, Total: [NumValues]int64{Calls: 1, Wall: 10}}
	aLeaf := &Node{Func: 1, CallLine: 2, SelfLine: 5, Parent: main, Total: [NumValues]int64{CPU: 16}}
	b := &Node{Func: 2, CallLine: 3, Parent: main, Total: [NumValues]int64{Calls: 1, Wall: 10}}
	bLeaf := &Node{Func: 2, CallLine: 3, SelfLine: 7, Parent: main, Total: [NumValues]int64{CPU: 2}}
	main.Children = []*Node{a, aLeaf, b, bLeaf}
	p.Threads = []*Thread{{Root: &Node{Children: []*Node{main}}}}
	p.fitSamplesToTrace()
	got := fmt.Sprintf("a %d b %d main own %d unplaced %v", a.Total[CPU]+aLeaf.Total[CPU], b.Total[CPU]+bLeaf.Total[CPU], main.Self(CPU), p.CPUUnplaced)
	if want := "a 10 b 8 main own 0 unplaced 0s"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestFitGivesNativeCallsTheirTime: the sampler sees no native frames, so a
// function's sampled own time holds the native calls it made, which get
// what its own wall cannot hold.
func TestFitGivesNativeCallsTheirTime(t *testing.T) {
	p := &Profile{Funcs: []Func{{Name: "app.f"}, {Name: "select.epoll.poll", Kind: KindNative}}}
	f := &Node{Func: 0, Total: [NumValues]int64{Calls: 1, Wall: 10}}
	poll := &Node{Func: 1, CallLine: 4, Parent: f, Total: [NumValues]int64{Calls: 1, Wall: 8}}
	f.Children = []*Node{poll}
	fLeaf := &Node{Func: 0, SelfLine: 4, Total: [NumValues]int64{CPU: 9}}
	p.Threads = []*Thread{{Root: &Node{Children: []*Node{f, fLeaf}}}}
	fLeaf.Parent = p.Threads[0].Root
	p.fitSamplesToTrace()
	got := fmt.Sprintf("f own %d poll %d f total %d unplaced %v", f.Self(CPU)+fLeaf.Total[CPU], poll.Total[CPU], f.Total[CPU]+fLeaf.Total[CPU], p.CPUUnplaced)
	if want := "f own 2 poll 7 f total 9 unplaced 0s"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestFitGivesTheNativeCallOfTheSampledLine: a sample names the line its
// frame was at, so what the function's own wall cannot hold goes to the
// native call made at that line, which was running, not to one made at
// another line that ran longer (a sleep after the hashing).
func TestFitGivesTheNativeCallOfTheSampledLine(t *testing.T) {
	p := &Profile{Funcs: []Func{{Name: "app.f"}, {Name: "_hashlib.openssl_sha256", Kind: KindNative}, {Name: "time.sleep", Kind: KindNative}}}
	f := &Node{Func: 0, Total: [NumValues]int64{Calls: 1, Wall: 20}}
	hash := &Node{Func: 1, CallLine: 3, Parent: f, Total: [NumValues]int64{Calls: 1, Wall: 4}}
	sleep := &Node{Func: 2, CallLine: 4, Parent: f, Total: [NumValues]int64{Calls: 1, Wall: 14}}
	f.Children = []*Node{hash, sleep}
	fLeaf := &Node{Func: 0, SelfLine: 3, Total: [NumValues]int64{CPU: 6, GIL: 6}}
	p.Threads = []*Thread{{Root: &Node{Children: []*Node{f, fLeaf}}}}
	fLeaf.Parent = p.Threads[0].Root
	p.fitSamplesToTrace()
	for name, v := range map[string]Value{"cpu": CPU, "gil": GIL} {
		got := fmt.Sprintf("f own %d hash %d sleep %d", f.Self(v)+fLeaf.Total[v], hash.Total[v], sleep.Total[v])
		if want := "f own 2 hash 4 sleep 0"; got != want {
			t.Errorf("%s: got %s, want %s", name, got, want)
		}
	}
}

// TestMergeSamplesFindsCallsFromNativeCode: the trace gives a call made from
// native code line 0, and has a call through a native callable under it;
// the sampler sees the caller's line and no native frame. Samples go to
// the traced calls all the same.
func TestMergeSamplesFindsCallsFromNativeCode(t *testing.T) {
	funcs := []Func{{Name: "app.main"}, {Name: "builtins.exec", Kind: KindNative}, {Name: "mod.<module>"}, {Name: "app.helper"}}
	tm := &Node{Func: 0, Total: [NumValues]int64{Calls: 1, Wall: 100}}
	exec := &Node{Func: 1, CallLine: 3, Parent: tm, Total: [NumValues]int64{Calls: 1, Wall: 50}}
	mod := &Node{Func: 2, Parent: exec, Total: [NumValues]int64{Calls: 1, Wall: 40}}
	exec.Children = []*Node{mod}
	helper := &Node{Func: 3, Parent: tm, Total: [NumValues]int64{Calls: 1, Wall: 30}}
	tm.Children = []*Node{exec, helper}
	trace := &Profile{Funcs: funcs, Values: []Value{Calls, Wall}, Threads: []*Thread{{ID: 1, Root: &Node{Children: []*Node{tm}}}}}

	sm := &Node{Func: 0, Total: [NumValues]int64{CPU: 9}}
	sm.Children = []*Node{
		{Func: 2, CallLine: 3, SelfLine: 12, Parent: sm, Total: [NumValues]int64{CPU: 5}},
		{Func: 3, CallLine: 7, SelfLine: 21, Parent: sm, Total: [NumValues]int64{CPU: 4}},
	}
	sampled := &Profile{Funcs: funcs, Values: []Value{Samples, Wall, CPU}, Threads: []*Thread{{ID: 1, Root: &Node{Children: []*Node{sm}}}}}
	MergeSamples(trace, sampled)

	got := map[string]int64{}
	trace.Threads[0].Root.Walk(func(path []*Node) {
		var names []string
		for _, n := range path {
			names = append(names, fmt.Sprintf("%s:%d", funcs[n.Func].Name, n.CallLine))
		}
		got[strings.Join(names, ";")] += path[len(path)-1].Total[CPU]
	})
	want := map[string]int64{"app.main:0": 9, "app.main:0;builtins.exec:3": 5, "app.main:0;builtins.exec:3;mod.<module>:0": 5,
		"app.main:0;app.helper:0": 4}
	if fmt.Sprint(got) != fmt.Sprint(want) || trace.CPUUnplaced != 0 {
		t.Errorf("cpu by path %v (unplaced %v), want %v", got, trace.CPUUnplaced, want)
	}
}
