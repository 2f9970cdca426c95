package view

import (
	"slices"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
)

// IdlePrefix starts the name of the frames FoldIdle makes.
const IdlePrefix = "[idle: "

// IsIdle reports whether f is a frame FoldIdle made: the idle waiting of
// one kind of pool or event loop, on one thread.
func IsIdle(f callgraph.Func) bool {
	return f.Kind == callgraph.KindMarker && strings.HasPrefix(f.Name, IdlePrefix)
}

// idleRule recognizes a loop that waits for work: a call of wait made
// directly from loop is the loop with nothing to do, and so is the loop's
// own time when ownTime is set (the wait is a C call, which sampling does
// not see, or trace mode without native calls does not record).
type idleRule struct {
	loop    string
	wait    func(name string) bool
	ownTime bool
	kind    string
}

func suffix(s string) func(string) bool {
	return func(name string) bool { return strings.HasSuffix(name, s) }
}

// idleRules are the loops of the standard library that wait for work. A
// call of the same function from anywhere else (a program's own queue.get)
// is the program waiting for something it asked for, and stays where it is.
var idleRules = []idleRule{
	{loop: "concurrent.futures.thread._worker", wait: suffix(".get"), ownTime: true,
		kind: "thread pool workers waiting for tasks"},
	{loop: "concurrent.futures.process._process_worker", wait: suffix(".get"),
		kind: "process pool workers waiting for tasks"},
	{loop: "concurrent.futures.process._ExecutorManagerThread.wait_result_broken_or_wakeup", wait: suffix("wait"),
		kind: "process pool's manager thread waiting"},
	{loop: "multiprocessing.pool.worker", wait: suffix(".get"),
		kind: "process pool workers waiting for tasks"},
	// It gets its tasks by iterating over the queue's get, which calls it
	// from C: trace mode sees no call, and the wait is its own time.
	{loop: "multiprocessing.pool.Pool._handle_tasks", wait: suffix(".get"), ownTime: true,
		kind: "process pool's handler threads waiting"},
	{loop: "multiprocessing.pool.Pool._handle_results", wait: func(n string) bool { return strings.HasSuffix(n, ".recv") || strings.HasSuffix(n, ".get") },
		kind: "process pool's handler threads waiting"},
	{loop: "multiprocessing.pool.Pool._handle_workers", wait: func(n string) bool { return strings.HasSuffix(n, "._wait_for_updates") || n == "time.sleep" },
		kind: "process pool's handler threads waiting"},
	{loop: "multiprocessing.queues.Queue._feed", wait: suffix(".wait"),
		kind: "queue feeder threads waiting for items"},
	{loop: "asyncio.base_events.BaseEventLoop._run_once", wait: func(n string) bool { return strings.HasPrefix(n, "selectors.") && strings.HasSuffix(n, ".select") },
		kind: "event loop waiting for I/O or timers"},
}

// idler finds the idle waiting of one profile.
type idler struct {
	p     *callgraph.Profile
	loops map[callgraph.FuncID]*idleRule // the functions that are loops
	kinds map[string]callgraph.FuncID    // the idle frames made so far
}

// FoldIdle returns a copy of p in which the time that pools' and event
// loops' threads spent waiting for work (a thread pool's worker blocked in
// its queue's get, a process pool's handler threads, an event loop's
// selector with nothing ready) is taken from the calling contexts where it
// was spent and put under one frame per kind at the root of its thread,
// "[idle: thread pool workers waiting for tasks]", which holds the waiting
// calls. The calls stay counted; the time no longer weighs on the loop's
// callers. p itself is left as it was, and returned when none of its
// functions is such a loop.
func FoldIdle(p *callgraph.Profile) *callgraph.Profile {
	loops := map[callgraph.FuncID]*idleRule{}
	for i, f := range p.Funcs {
		for j := range idleRules {
			if f.Name == idleRules[j].loop {
				loops[callgraph.FuncID(i)] = &idleRules[j]
			}
		}
	}
	if len(loops) == 0 {
		return p
	}
	q := *p
	q.Funcs = slices.Clip(slices.Clone(p.Funcs))
	q.Threads = make([]*callgraph.Thread, len(p.Threads))
	d := &idler{p: &q, loops: loops, kinds: map[string]callgraph.FuncID{}}
	for i, th := range p.Threads {
		t := *th
		if th.Root != nil {
			t.Root = &callgraph.Node{Total: th.Root.Total, SelfLine: th.Root.SelfLine}
			copyInto(t.Root, th.Root)
			d.fold(t.Root)
		}
		q.Threads[i] = &t
	}
	return &q
}

// fold moves the idle waiting below root, a thread's root, under idle
// frames among root's children.
func (d *idler) fold(root *callgraph.Node) {
	type move struct {
		node *callgraph.Node
		kind string
	}
	var moves []move
	var selfMoves []move
	var walk func(n *callgraph.Node)
	walk = func(n *callgraph.Node) {
		rule := d.loops[n.Func]
		for _, c := range n.Children {
			if rule != nil && int(c.Func) < len(d.p.Funcs) && rule.wait(d.p.Funcs[c.Func].Name) {
				moves = append(moves, move{c, rule.kind})
				continue
			}
			walk(c)
		}
		if rule != nil && rule.ownTime {
			selfMoves = append(selfMoves, move{n, rule.kind})
		}
	}
	for _, c := range root.Children {
		if int(c.Func) < len(d.p.Funcs) && IsIdle(d.p.Funcs[c.Func]) {
			continue // folded already
		}
		walk(c)
	}
	// Own time first: it is the loop's value less its children's, which
	// the moves below take away.
	for _, m := range selfMoves {
		d.moveOwnTime(root, m.node, m.kind)
	}
	for _, m := range moves {
		d.moveSubtree(root, m.node, m.kind)
	}
}

// isWorkInWait reports the calls inside a wait for work that are work all
// the same: a process pool's worker gets its task from its queue's get,
// which unpickles the task's arguments and so runs their __setstate__ and
// whatever that calls.
func isWorkInWait(name string) bool {
	return name == "_pickle.loads" || name == "pickle.loads" || strings.HasSuffix(name, "ForkingPickler.loads")
}

// keepWork takes the work found below n (see isWorkInWait) out of it and
// gives it to owner, the loop n was called from, so that it stays where
// the time was used rather than going under the idle frame with n.
func (d *idler) keepWork(root, owner, n *callgraph.Node) {
	var found []*callgraph.Node
	var walk func(m *callgraph.Node)
	walk = func(m *callgraph.Node) {
		for _, c := range m.Children {
			if int(c.Func) < len(d.p.Funcs) && isWorkInWait(d.p.Funcs[c.Func].Name) {
				found = append(found, c)
				continue
			}
			walk(c)
		}
	}
	walk(n)
	for _, w := range found {
		parent := w.Parent
		parent.Children = slices.DeleteFunc(parent.Children, func(c *callgraph.Node) bool { return c == w })
		subtractTime(parent, owner, w.Total)
		w.Parent = owner
		owner.Children = append(owner.Children, w)
	}
}

// moveSubtree takes n from its parent, takes its time from every caller
// above it, and puts it under the idle frame of kind.
func (d *idler) moveSubtree(root, n *callgraph.Node, kind string) {
	d.keepWork(root, n.Parent, n)
	parent := n.Parent
	parent.Children = slices.DeleteFunc(parent.Children, func(c *callgraph.Node) bool { return c == n })
	subtractTime(parent, root, n.Total)
	frame := d.frame(root, kind)
	addTime(frame, n.Total)
	n.Parent = frame
	frame.Children = append(frame.Children, n)
}

// moveOwnTime moves the time n spent in itself to a copy of n, without
// children or calls, under the idle frame of kind.
func (d *idler) moveOwnTime(root, n *callgraph.Node, kind string) {
	var own [callgraph.NumValues]int64
	for v := range own {
		if callgraph.Value(v) != callgraph.Calls {
			own[v] = n.Self(callgraph.Value(v))
		}
	}
	if own == ([callgraph.NumValues]int64{}) {
		return
	}
	for a := n; a != nil && a != root; a = a.Parent {
		for v := range own {
			a.Total[v] -= own[v]
		}
	}
	frame := d.frame(root, kind)
	addTime(frame, own)
	c := frame.Child(n.Func, n.CallLine)
	c.SelfLine = n.SelfLine
	addTime(c, own)
}

// frame returns the idle frame of kind among root's children, making it.
func (d *idler) frame(root *callgraph.Node, kind string) *callgraph.Node {
	id, ok := d.kinds[kind]
	if !ok {
		id = d.p.AddFunc(callgraph.Func{Name: IdlePrefix + kind + "]", Kind: callgraph.KindMarker})
		d.kinds[kind] = id
	}
	return root.Child(id, 0)
}

// subtractTime takes t's time values from n and its callers up to, not
// including, root.
func subtractTime(n, root *callgraph.Node, t [callgraph.NumValues]int64) {
	for a := n; a != nil && a != root; a = a.Parent {
		for v := range t {
			if callgraph.Value(v) != callgraph.Calls {
				a.Total[v] -= t[v]
			}
		}
	}
}

// addTime adds t's time values to n.
func addTime(n *callgraph.Node, t [callgraph.NumValues]int64) {
	for v := range t {
		if callgraph.Value(v) != callgraph.Calls {
			n.Total[v] += t[v]
		}
	}
}
