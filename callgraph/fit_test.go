package callgraph

import (
	"fmt"
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
