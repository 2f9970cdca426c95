package profiler

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// TestWithoutRunning leaves out of sampled stacks the frames that were
// running when a region began, outermost first, as long as they match;
// the time they held themselves goes to a marker.
func TestWithoutRunning(t *testing.T) {
	p := &callgraph.Profile{}
	funcs := map[string]callgraph.FuncID{}
	for i, name := range []string{"module", "serve", "loop", "handle", "work", "wait", "other"} {
		funcs[name] = p.AddFunc(callgraph.Func{Name: name, Filename: "/app/" + name + ".py", StartLine: i + 1})
	}
	frame := func(name string) RunningFrame {
		return RunningFrame{File: "/app/" + name + ".py", Line: int(funcs[name]) + 1}
	}
	// tree builds a root from "a;b;c=N" paths of N samples each; a leaf
	// "c@L" is a sampled leaf of its own, executing line L.
	tree := func(paths ...string) *callgraph.Node {
		root := &callgraph.Node{}
		for _, spec := range paths {
			stack, count, _ := strings.Cut(spec, "=")
			var n int64
			fmt.Sscan(count, &n)
			node := root
			for _, frame := range strings.Split(stack, ";") {
				name, line, leaf := strings.Cut(frame, "@")
				self, _ := strconv.Atoi(line)
				node = sampledChild(node, funcs[name], int32(self), leaf)
				node.Total[callgraph.Samples] += n
			}
		}
		return root
	}
	render := func(root *callgraph.Node) string {
		var lines []string
		root.Walk(func(path []*callgraph.Node) {
			var names []string
			for _, n := range path {
				name := p.Funcs[n.Func].Name
				if n.SelfLine != 0 {
					name += fmt.Sprintf("@%d", n.SelfLine)
				}
				names = append(names, name)
			}
			lines = append(lines, fmt.Sprintf("%s=%d", strings.Join(names, ";"), path[len(path)-1].Total[callgraph.Samples]))
		})
		return strings.Join(lines, " ")
	}
	for _, tc := range []struct {
		name    string
		paths   []string
		running []RunningFrame
		want    string
	}{
		{"nothing running", []string{"module;serve=3"}, nil, "module=3 module;serve=3"},
		{"the region's frame becomes the root", []string{"module;serve;handle;work=5", "module;serve;handle=2"},
			[]RunningFrame{frame("module"), frame("serve")}, "handle=7 handle;work=5"},
		{"a path leaving the running stack keeps the rest", []string{"module;serve;handle=4", "module;loop;other=1"},
			[]RunningFrame{frame("module"), frame("serve")}, "handle=4 loop=1 loop;other=1"},
		{"another thread's waiting frames", []string{"loop;wait=9", "loop;work=2"},
			[]RunningFrame{frame("loop"), frame("wait")}, "work=2 " + callgraph.RunningBeforeMarker + "=9"},
		// A thread that never left the frames running before keeps its
		// time, under a marker that says where it was.
		{"a thread that stayed in the running frames", []string{"loop;wait=9", "loop;wait@3=4"},
			[]RunningFrame{frame("loop"), frame("wait")}, callgraph.RunningBeforeMarker + "=13"},
		// Paths leaving the running stack at two depths land on the same
		// calls: a sampled leaf and the node of the calls stay apart, and
		// the leaves of one line are one.
		{"the same calls from two depths merge by identity",
			[]string{"module;handle@5=1", "module;serve;handle@5=2", "module;serve;handle;work=3"},
			[]RunningFrame{frame("module"), frame("serve")}, "handle=3 handle;work=3 handle@5=3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(withoutRunning(p, tree(tc.paths...), tc.running)); got != tc.want {
				t.Errorf("got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// sampledChild finds or makes the child of parent for f as the sampler
// makes them: a leaf executing selfLine is a node of its own.
func sampledChild(parent *callgraph.Node, f callgraph.FuncID, selfLine int32, leaf bool) *callgraph.Node {
	if !leaf {
		selfLine = 0
	}
	for _, c := range parent.Children {
		if c.Func == f && c.SelfLine == selfLine {
			return c
		}
	}
	c := &callgraph.Node{Func: f, SelfLine: selfLine, Parent: parent}
	parent.Children = append(parent.Children, c)
	return c
}
