package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
)

func TestThreadPattern(t *testing.T) {
	for _, c := range []struct{ name, thread, want string }{
		{"pool worker", "ThreadPoolExecutor-0_12", "ThreadPoolExecutor-0_*"},
		{"second pool", "ThreadPoolExecutor-1_3", "ThreadPoolExecutor-1_*"},
		{"thread with target", "Thread-3 (worker)", "Thread-* (worker)"},
		{"numbered", "worker-7", "worker-*"},
		{"no number", "MainThread", "MainThread"},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := threadPattern(c.thread); got != c.want {
				t.Errorf("threadPattern(%q) = %q, want %q", c.thread, got, c.want)
			}
		})
	}
}

// TestGroupThreadsMergesTrees: the workers of a pool become one thread
// whose tree sums theirs; threads of other names or processes stay apart.
func TestGroupThreadsMergesTrees(t *testing.T) {
	p := &callgraph.Profile{Funcs: []callgraph.Func{{Name: "job"}, {Name: "other"}}}
	worker := func(tid int64, name string, pid int64, wall int64, fn callgraph.FuncID) *callgraph.Thread {
		t.Helper()
		root := &callgraph.Node{}
		c := root.Child(fn, 5)
		c.Total[callgraph.Wall], c.Total[callgraph.Calls] = wall, 1
		root.Total[callgraph.Wall] = wall
		return &callgraph.Thread{ID: tid, Name: name, PID: pid, Root: root}
	}
	p.Threads = []*callgraph.Thread{
		worker(1, "MainThread", 0, 5, 1),
		worker(2, "pool_0", 0, 10, 0),
		worker(3, "pool_1", 0, 20, 0),
		worker(4, "pool_2", 0, 30, 1),
		worker(5, "pool_3", 7, 40, 0),
	}
	grouped, groups := groupThreads(p)
	if len(p.Threads) != 5 {
		t.Fatalf("groupThreads changed the profile's threads: %d now", len(p.Threads))
	}
	if len(grouped.Threads) != 3 || len(groups) != 1 {
		t.Fatalf("got %d threads and %d groups, want MainThread, the group and the other process's thread", len(grouped.Threads), len(groups))
	}
	g := grouped.Threads[1]
	if g.Name != "pool_*" || groups[0].members != 3 || g.ID != groups[0].id {
		t.Errorf("group %q id %d of %d threads, want pool_* of 3 with the group's id", g.Name, g.ID, groups[0].members)
	}
	if got := g.Root.Total[callgraph.Wall]; got != 60 {
		t.Errorf("group wall %d, want 60", got)
	}
	if len(g.Root.Children) != 2 {
		t.Fatalf("group has %d contexts, want job and other", len(g.Root.Children))
	}
	job := g.Root.Children[0]
	if job.Func != 0 || job.Total[callgraph.Wall] != 30 || job.Total[callgraph.Calls] != 2 || job.Parent != g.Root {
		t.Errorf("merged job: func %d wall %d calls %d, want job with wall 30 in 2 calls", job.Func, job.Total[callgraph.Wall], job.Total[callgraph.Calls])
	}
}

// TestGroupedBriefCountsThreads: the header of a grouped tree counts the
// threads that ran, not the groups; a group's title counts its threads,
// a thread's gives its id.
func TestGroupedBriefCountsThreads(t *testing.T) {
	p := &callgraph.Profile{Funcs: []callgraph.Func{{Name: "job"}}, Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	for i := range 5 {
		root := &callgraph.Node{}
		c := root.Child(0, 5)
		c.Total[callgraph.Wall], c.Total[callgraph.Calls] = 10, 1
		p.Threads = append(p.Threads, &callgraph.Thread{ID: int64(i + 1), Name: fmt.Sprintf("pool_%d", i), Root: root})
	}
	root := &callgraph.Node{}
	c := root.Child(0, 5)
	c.Total[callgraph.Wall], c.Total[callgraph.Calls] = 10, 1
	p.Threads = append(p.Threads, &callgraph.Thread{ID: 9, Name: "MainThread", PID: 4, Root: root})
	tree, err := groupedBrief(p, report.BriefOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(tree), " in 6 threads") || !strings.Contains(string(tree), "\npool_* (5 threads) 50ns\n") ||
		!strings.Contains(string(tree), "\nMainThread (9, pid 4) 10ns\n") {
		t.Errorf("the grouped tree does not count the 5 threads:\n%s", tree)
	}
}
