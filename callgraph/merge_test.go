package callgraph

import (
	"fmt"
	"strings"
	"testing"
)

func renderAll(p *Profile) string {
	var b strings.Builder
	for _, th := range p.Threads {
		fmt.Fprintf(&b, "thread %d %s\n", th.ID, th.Name)
		th.Root.Walk(func(path []*Node) {
			n := path[len(path)-1]
			fmt.Fprintf(&b, "%s%s:%d/%d %v\n", strings.Repeat("  ", len(path)), p.Funcs[n.Func].Name, n.CallLine, n.SelfLine, n.Total[:Await])
		})
	}
	return b.String()
}

func TestMergeSamples(t *testing.T) {
	main := Func{Name: "app.main", Filename: "app.py", StartLine: 1}
	work := Func{Name: "app.work", Filename: "app.py", StartLine: 10}
	hidden := Func{Name: "other.thing", Filename: "other.py", StartLine: 3}
	trace := &Profile{Funcs: []Func{main, work}, Values: []Value{Calls, Wall}, Default: Wall}
	tm := &Node{Func: 0}
	tw := &Node{Func: 1, CallLine: 4, Parent: tm}
	tm.Children = []*Node{tw}
	tm.Total = [NumValues]int64{Calls: 1, Wall: 100}
	tw.Total = [NumValues]int64{Calls: 5, Wall: 80}
	troot := &Node{Children: []*Node{tm}}
	trace.Threads = []*Thread{{ID: 7, Name: "MainThread", Root: troot}}

	// The sampler names the same functions in its own order, and saw work
	// executing at two lines, and a thread the trace did not have.
	sampled := &Profile{Funcs: []Func{work, main, hidden}, Values: []Value{Samples, Wall, CPU, GIL}, Default: Wall}
	sm := &Node{Func: 1}
	sw1 := &Node{Func: 0, CallLine: 4, SelfLine: 11, Parent: sm}
	sw2 := &Node{Func: 0, CallLine: 4, SelfLine: 12, Parent: sm}
	sm.Children = []*Node{sw1, sw2}
	sm.Total = [NumValues]int64{Samples: 9, Wall: 90, CPU: 60, GIL: 70}
	sw1.Total = [NumValues]int64{Samples: 6, Wall: 60, CPU: 50, GIL: 60}
	sw2.Total = [NumValues]int64{Samples: 2, Wall: 20, CPU: 10, GIL: 10}
	other := &Node{Func: 2, Total: [NumValues]int64{Samples: 1, Wall: 10, CPU: 10}}
	sampled.Threads = []*Thread{
		{ID: 7, Root: &Node{Children: []*Node{sm}}},
		{ID: 8, Name: "Thread 8", Root: &Node{Children: []*Node{other}}},
	}
	MergeSamples(trace, sampled)
	want := `thread 7 MainThread
  app.main:0/0 [1 100 60 9 70]
    app.work:4/0 [5 80 0 0 0]
    app.work:4/11 [0 0 50 6 60]
    app.work:4/12 [0 0 10 2 10]
thread 8 Thread 8
  other.thing:0/0 [0 0 0 1 0]
`
	if got := renderAll(trace); got != want {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}
	// The thread the trace did not have ran no traced call to charge.
	if trace.CPUUnplaced != 10 {
		t.Errorf("unplaced cpu %v, want 10ns", trace.CPUUnplaced)
	}
	if fmt.Sprint(trace.Values) != fmt.Sprint([]Value{Calls, Wall, CPU, Samples, GIL}) {
		t.Errorf("values %v", trace.Values)
	}
}

func TestElide(t *testing.T) {
	boot := Func{Name: "bootstrap._main", Filename: "/cache/bootstrap.py"}
	mod := Func{Name: "app.<module>", Filename: "app.py"}
	f := Func{Name: "app.f", Filename: "app.py", StartLine: 3}
	p := &Profile{Funcs: []Func{boot, mod, f}}
	b := &Node{Func: 0, Total: [NumValues]int64{Samples: 5}}
	// Called from the bootstrap's line 12, which no profile shows: the
	// trace gives a call from hidden code line 0, and so must this.
	m1 := &Node{Func: 1, CallLine: 12, Total: [NumValues]int64{Samples: 3}, Parent: b}
	f1 := &Node{Func: 2, CallLine: 7, SelfLine: 4, Total: [NumValues]int64{Samples: 2}, Parent: m1}
	m1.Children = []*Node{f1}
	b.Children = []*Node{m1}
	m2 := &Node{Func: 1, Total: [NumValues]int64{Samples: 1}}
	p.Threads = []*Thread{{ID: 1, Root: &Node{Children: []*Node{b, m2}}}}
	p.Elide(func(f Func) bool { return f.Filename == "/cache/bootstrap.py" })
	want := "thread 1 \n  app.<module>:0/0 [0 0 0 4 0]\n    app.f:7/4 [0 0 0 2 0]\n"
	if got := renderAll(p); got != want {
		t.Errorf("elided:\n%s\nwant:\n%s", got, want)
	}
}

// TestElideMergesByIdentity splices out hidden frames whose children are
// the same calls: each lands on the child of its identity (function, call
// line, self line), as the sampler made them, so that a sampled leaf and
// the node of its calls stay apart and two leaves of one line are one.
func TestElideMergesByIdentity(t *testing.T) {
	hidden := Func{Name: "bootstrap._main", Filename: "/cache/bootstrap.py"}
	other := Func{Name: "bootstrap._run", Filename: "/cache/bootstrap.py", StartLine: 40}
	f := Func{Name: "app.f", Filename: "app.py", StartLine: 3}
	g := Func{Name: "app.g", Filename: "app.py", StartLine: 20}
	p := &Profile{Funcs: []Func{hidden, other, f, g}}
	// f executing line 5, called from two hidden frames at their own lines
	// (which the elided tree shows as 0); and f calling g from line 8.
	leaf1 := &Node{Func: 2, CallLine: 3, SelfLine: 5, Total: [NumValues]int64{Samples: 1}}
	calls := &Node{Func: 2, CallLine: 4, Total: [NumValues]int64{Samples: 2}}
	calls.Children = []*Node{{Func: 3, CallLine: 8, Total: [NumValues]int64{Samples: 2}, Parent: calls}}
	leaf2 := &Node{Func: 2, CallLine: 7, SelfLine: 5, Total: [NumValues]int64{Samples: 4}}
	a := &Node{Func: 0, Children: []*Node{leaf1}, Total: [NumValues]int64{Samples: 1}}
	b := &Node{Func: 1, Children: []*Node{calls, leaf2}, Total: [NumValues]int64{Samples: 6}}
	leaf1.Parent, calls.Parent, leaf2.Parent = a, b, b
	p.Threads = []*Thread{{ID: 1, Root: &Node{Children: []*Node{a, b}}}}
	p.Elide(func(f Func) bool { return f.Filename == "/cache/bootstrap.py" })
	want := "thread 1 \n" +
		"  app.f:0/0 [0 0 0 2 0]\n" +
		"    app.g:8/0 [0 0 0 2 0]\n" +
		"  app.f:0/5 [0 0 0 5 0]\n"
	if got := renderAll(p); got != want {
		t.Errorf("elided:\n%s\nwant:\n%s", got, want)
	}
}

// TestMergeSamplesMergesLeavesByIdentity merges sampled leaves that the
// trace's missing call lines make the same (a call from native code,
// line 0): one leaf per line executed, as the sampler makes them.
func TestMergeSamplesMergesLeavesByIdentity(t *testing.T) {
	main := Func{Name: "app.main", Filename: "app.py", StartLine: 1}
	f := Func{Name: "app.f", Filename: "app.py", StartLine: 8}
	trace := &Profile{Funcs: []Func{main, f}, Values: []Value{Calls, Wall}, Default: Wall}
	tm := &Node{Func: 0, Total: [NumValues]int64{Calls: 1, Wall: 100}}
	tf := &Node{Func: 1, Parent: tm, Total: [NumValues]int64{Calls: 5, Wall: 80}}
	tm.Children = []*Node{tf}
	trace.Threads = []*Thread{{ID: 7, Name: "MainThread", Root: &Node{Children: []*Node{tm}}}}

	sampled := &Profile{Funcs: []Func{main, f}, Values: []Value{Samples}, Default: Samples}
	sm := &Node{Func: 0, Total: [NumValues]int64{Samples: 3}}
	sm.Children = []*Node{
		{Func: 1, CallLine: 5, SelfLine: 9, Total: [NumValues]int64{Samples: 1}, Parent: sm},
		{Func: 1, CallLine: 6, SelfLine: 9, Total: [NumValues]int64{Samples: 2}, Parent: sm},
	}
	sampled.Threads = []*Thread{{ID: 7, Root: &Node{Children: []*Node{sm}}}}
	MergeSamples(trace, sampled)
	want := "thread 7 MainThread\n" +
		"  app.main:0/0 [1 100 0 3 0]\n" +
		"    app.f:0/0 [5 80 0 0 0]\n" +
		"    app.f:0/9 [0 0 0 3 0]\n"
	if got := renderAll(trace); got != want {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}
}
