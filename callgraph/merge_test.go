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
