package callgraph

import (
	"strings"
	"time"
)

// fitSamplesToTrace makes the sampled CPU and GIL time merged into a traced
// profile agree with the trace's exact wall time: no node's own CPU or GIL
// time over its own wall time, so that no function shows more of either
// than of wall time. A sample stands for a whole period around it, while
// the trace knows how long each call ran: a call of 4 ms sampled once at
// 10 ms got 10 ms of CPU. What a node cannot hold ran around it, in its
// caller, which takes it (its inclusive total is left as it was); what
// even the thread's entry frames cannot hold was sampled outside any traced
// call (the interpreter starting or ending), and is counted as unplaced.
//
// A node's own time is that of the node outside its children plus that of
// its sampled leaf siblings (same function and call line, SelfLine set),
// which hold its time line by line; their wall time is the traced node's.
func (p *Profile) fitSamplesToTrace() {
	for _, th := range p.Threads {
		removed := p.fitChildren(th.Root)
		p.CPUUnplaced += time.Duration(removed[CPU])
		p.GILUnplaced += time.Duration(removed[GIL])
	}
}

// sampledValues are the values the sampler brings into a traced profile
// that must stay within wall time.
var sampledValues = [...]Value{CPU, GIL}

// fitChildren fits the subtrees under n, children first, and returns what
// it took off n's children and could not give back to them. What one
// child cannot hold goes first to its siblings with room (own wall time
// beyond their own CPU or GIL time), in proportion to their room, as a
// sample near a call boundary belongs to one side or the other; the rest
// stays in n's own time, to be fitted with n.
func (p *Profile) fitChildren(n *Node) (removed [NumValues]int64) {
	for _, c := range n.Children {
		p.fitChildren(c)
	}
	groups := groupsOf(n)
	for _, v := range sampledValues {
		var took, room int64
		rooms := make([]int64, len(groups))
		for i, g := range groups {
			t, r := fitGroup(p, g, v)
			took += t
			rooms[i] = r
			room += r
		}
		give := min(took, room)
		var given int64
		for i, g := range groups {
			if rooms[i] > 0 && give > 0 {
				x := int64(float64(give) * float64(rooms[i]) / float64(room))
				g[0].Total[v] += x
				given += x
			}
		}
		removed[v] = took - given
	}
	return removed
}

// groupsOf splits n's children into groups fitted together: a node and
// its sampled leaf siblings (same function and call line, SelfLine set),
// and each sampled leaf that has no such node on its own.
func groupsOf(n *Node) [][]*Node {
	var groups [][]*Node
	for _, c := range n.Children {
		if c.SelfLine != 0 {
			if n.Find(c.Func, c.CallLine, 0) == nil {
				groups = append(groups, []*Node{c}) // the trace never saw it
			}
			continue
		}
		group := []*Node{c}
		for _, s := range n.Children {
			if s.SelfLine != 0 && s.Func == c.Func && s.CallLine == c.CallLine {
				group = append(group, s)
			}
		}
		groups = append(groups, group)
	}
	return groups
}

// fitGroup trims value v of the own time of group (a node, then its
// sampled leaf siblings) to the node's own wall time, and returns what it
// took and the room left: own wall beyond own v. The sampler sees no
// native frames, so the node's own time includes the time of the native
// calls it made, which the trace has as children: those take what the
// node's own wall cannot hold, up to their own wall, before the rest is
// taken. A lone sampled leaf the trace never saw has no wall: all of it
// is taken.
func fitGroup(p *Profile, group []*Node, v Value) (took, room int64) {
	node := group[0]
	if node.SelfLine != 0 {
		took = node.Total[v]
		node.Total[v] = 0
		return took, 0
	}
	var childV, childWall int64
	for _, c := range node.Children {
		childV += c.Total[v]
		childWall += c.Total[Wall]
	}
	wall := max(node.Total[Wall]-childWall, 0)
	own := max(node.Total[v]-childV, 0)
	total := own
	for _, s := range group[1:] {
		total += s.Total[v]
	}
	if total <= wall {
		return 0, wall - total
	}
	toNatives := p.giveNativesByLine(node, group[1:], v, total-wall, total)
	scale := float64(wall) / float64(total)
	kept := int64(float64(own) * scale)
	node.Total[v] = childV + toNatives + kept
	took = own - kept - toNatives
	for _, s := range group[1:] {
		k := int64(float64(s.Total[v]) * scale)
		took += s.Total[v] - k
		s.Total[v] = k
	}
	return took, 0
}

// giveNativesByLine gives x of value v, what the own time of node n and of
// its sampled leaf siblings lines (of total v in all) holds beyond n's own
// wall, to n's native children, and returns how much it gave. A sample
// names the line the frame was at: a native call made at that line was
// running, not one made at another (a sample on CPU at the line that
// hashes is not time.sleep's, called on the next line). Each line's share
// of x goes to the natives called at that line, as far as they have room;
// the share of n's own time, which names no line, to any native.
func (p *Profile) giveNativesByLine(n *Node, lines []*Node, v Value, x, total int64) int64 {
	if total <= 0 {
		return 0
	}
	var given, rest int64 = 0, x
	for _, s := range lines {
		share := int64(float64(x) * float64(s.Total[v]) / float64(total))
		rest -= share
		line := s.SelfLine
		given += p.giveNatives(n, v, share, func(c *Node) bool { return c.CallLine == line })
	}
	return given + p.giveNatives(n, v, max(rest, 0), nil)
}

// giveNatives adds up to x of value v to the own time of n's native
// children (those that at accepts, all where at is nil), in proportion to
// their room, and returns how much it gave.
func (p *Profile) giveNatives(n *Node, v Value, x int64, at func(*Node) bool) int64 {
	rooms := make([]int64, len(n.Children))
	var room int64
	for i, c := range n.Children {
		if c.SelfLine != 0 || int(c.Func) >= len(p.Funcs) || p.Funcs[c.Func].Kind != KindNative || at != nil && !at(c) {
			continue
		}
		wall, val := c.Total[Wall], c.Total[v]
		for _, g := range c.Children {
			wall -= g.Total[Wall]
			val -= g.Total[v]
		}
		rooms[i] = max(wall-val, 0)
		room += rooms[i]
	}
	give := min(x, room)
	var given int64
	for i, c := range n.Children {
		if rooms[i] > 0 {
			share := int64(float64(give) * float64(rooms[i]) / float64(room))
			c.Total[v] += share
			given += share
		}
	}
	return given
}

// graftSampledTasks moves, in a sampled profile, the stacks of asyncio
// tasks from under the event loop's frames (BaseEventLoop._run_once,
// Handle._run) to under the frame that started the loop, at the line of
// that call: where the trace puts them (see suspend.go), so that merged
// samples find the tasks' traced frames. The loop's frames keep what they
// ran themselves.
func (p *Profile) graftSampledTasks() {
	for _, th := range p.Threads {
		var grafts []graft
		p.findGrafts(th.Root, nil, &grafts)
		for _, g := range grafts {
			g.apply()
		}
	}
}

// graft is a task's frame n to move from under the loop's frames to under
// anchor, at line.
type graft struct {
	n, anchor *Node
	line      int32
}

func (p *Profile) isAsyncio(n *Node) bool {
	f := p.Funcs[n.Func]
	return f.Kind == KindPython && (strings.HasPrefix(f.Name, "asyncio.") || f.Name == "asyncio")
}

// findGrafts walks the tree under n, path being the nodes above it.
func (p *Profile) findGrafts(n *Node, path []*Node, grafts *[]graft) {
	for _, c := range n.Children {
		if p.Funcs[c.Func].Kind == KindPython && !p.isAsyncio(c) && len(path) > 0 {
			if g, ok := p.taskGraft(c, append(path, n)); ok {
				*grafts = append(*grafts, g)
				continue
			}
		}
		p.findGrafts(c, append(path, n), grafts)
	}
}

// taskGraft tells whether c, under path (root first, its parent last), is a
// step of a task or a callback the loop runs: Handle._run calls it, through
// a Task's own steps at most, and only asyncio's frames stand between that
// and the frame that started the loop. What asyncio's own callbacks call
// (a socket's accept under _accept_connection) stays under them.
func (p *Profile) taskGraft(c *Node, path []*Node) (graft, bool) {
	i := len(path) - 1
	for i > 0 && p.isTaskStep(path[i]) {
		i--
	}
	if i <= 0 || !strings.HasSuffix(p.Funcs[path[i].Func].Name, ".Handle._run") {
		return graft{}, false
	}
	for i > 0 && p.isAsyncio(path[i]) {
		i--
	}
	return graft{n: c, anchor: path[i], line: path[i+1].CallLine}, true
}

// isTaskStep tells a frame of asyncio's tasks module, whose Task (where the
// C one is not used) steps a coroutine in frames of its own.
func (p *Profile) isTaskStep(n *Node) bool {
	f := p.Funcs[n.Func]
	return f.Kind == KindPython && strings.HasPrefix(f.Name, "asyncio.tasks.")
}

// apply takes g.n off its parent, and its values off the loop's frames
// between it and the anchor, and merges it under the anchor, whose
// inclusive values hold it already.
func (g graft) apply() {
	parent := g.n.Parent
	for i, c := range parent.Children {
		if c == g.n {
			parent.Children = append(parent.Children[:i:i], parent.Children[i+1:]...)
			break
		}
	}
	for a := parent; a != nil && a != g.anchor; a = a.Parent {
		for v := range a.Total {
			a.Total[v] -= g.n.Total[v]
		}
	}
	g.n.CallLine = g.line
	g.anchor.MergeChild(g.n)
}
