package main

import (
	"bytes"
	"regexp"
	"strconv"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/export/view"
)

// The exit tree shows each thread's heaviest contexts on one screen. A
// pool of hundreds of workers, each with a small share, would leave it
// only "… 320 more threads": threads that run the same code are shown as
// one group instead, their trees merged, named by the pattern of their
// names ("ThreadPoolExecutor-0_*") and how many threads it holds.

// threadGroup is the threads of one process whose names differ only in
// their last number.
type threadGroup struct {
	pattern string
	members int
	// id is the stand-in thread id of the group's merged thread, by which
	// groupedBrief titles it.
	id int64
}

// lastNumber is the run of digits that numbers threads of one kind:
// ThreadPoolExecutor-0_12, Thread-3 (worker), worker-7.
var lastNumber = regexp.MustCompile(`[0-9]+([^0-9]*)$`)

// threadPattern is name with its last number replaced by "*".
func threadPattern(name string) string {
	return lastNumber.ReplaceAllString(name, "*$1")
}

// groupThreads returns a copy of p in which the threads of a process that
// share a threadPattern are one thread, their trees merged, and the
// groups it made. p itself is left alone: it has been written already.
func groupThreads(p *callgraph.Profile) (*callgraph.Profile, []threadGroup) {
	type key struct {
		pid     int64
		pattern string
	}
	members := map[key][]*callgraph.Thread{}
	var order []key
	for _, th := range p.Threads {
		k := key{th.PID, threadPattern(th.Name)}
		if members[k] == nil {
			order = append(order, k)
		}
		members[k] = append(members[k], th)
	}
	out := *p
	out.Threads = nil
	var groups []threadGroup
	for _, k := range order {
		ths := members[k]
		if len(ths) == 1 {
			out.Threads = append(out.Threads, ths[0])
			continue
		}
		g := threadGroup{pattern: k.pattern, members: len(ths), id: -1 - int64(len(groups))}
		groups = append(groups, g)
		out.Threads = append(out.Threads, &callgraph.Thread{ID: g.id, Name: k.pattern, PID: k.pid, Root: mergeTrees(p.Funcs, ths)})
	}
	return &out, groups
}

// mergeTrees adds up the trees of threads into a new one: the values of
// the same calling context summed.
func mergeTrees(funcs []callgraph.Func, threads []*callgraph.Thread) *callgraph.Node {
	type childKey struct {
		parent   *callgraph.Node
		fn       callgraph.FuncID
		callLine int32
		selfLine int32
	}
	nodes := map[childKey]*callgraph.Node{}
	root := &callgraph.Node{}
	var add func(dst, src *callgraph.Node)
	add = func(dst, src *callgraph.Node) {
		for v := range dst.Total {
			dst.Total[v] += src.Total[v]
		}
		for _, c := range src.Children {
			k := childKey{dst, c.Func, c.CallLine, c.SelfLine}
			d := nodes[k]
			if d == nil {
				d = &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Parent: dst}
				dst.Children = append(dst.Children, d)
				nodes[k] = d
			}
			add(d, c)
		}
	}
	for _, th := range threads {
		if th.Root == nil {
			continue
		}
		for v := range root.Total {
			root.Total[v] += th.Root.Total[v]
		}
		for _, c := range th.Root.Children {
			if isIdleFrame(funcs, c) {
				// Kept apart, one a thread, so that the report's note on
				// idle waiting still counts the threads that waited.
				idle := &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Parent: root}
				root.Children = append(root.Children, idle)
				add(idle, c)
				continue
			}
			sub := &callgraph.Node{Children: []*callgraph.Node{c}}
			add(root, sub)
		}
	}
	return root
}

// isIdleFrame reports whether n is an idle frame that view.FoldIdle put at
// the root of a thread.
func isIdleFrame(funcs []callgraph.Func, n *callgraph.Node) bool {
	return int(n.Func) < len(funcs) && view.IsIdle(funcs[n.Func])
}

// groupedBrief is the exit tree's text for p, threads grouped: its header
// counts the threads that ran, not the groups, and a group's title gives
// how many threads it holds where a thread's gives its id
// ("ThreadPoolExecutor-0_* (320 threads, pid 41)").
func groupedBrief(p *callgraph.Profile, opts report.BriefOptions) ([]byte, error) {
	grouped, groups := groupThreads(p)
	opts.Threads = len(p.Threads)
	opts.Title = func(th *callgraph.Thread) string {
		for _, g := range groups {
			if g.id == th.ID {
				return groupTitle(g, th.PID)
			}
		}
		return report.ThreadTitle(th)
	}
	var buf bytes.Buffer
	err := report.WriteBrief(&buf, grouped, opts)
	return buf.Bytes(), err
}

// groupTitle names a group of threads of process pid.
func groupTitle(g threadGroup, pid int64) string {
	s := report.Printable(g.pattern) + " (" + plural(g.members, "thread")
	if pid != 0 {
		s += ", pid " + strconv.FormatInt(pid, 10)
	}
	return s + ")"
}
