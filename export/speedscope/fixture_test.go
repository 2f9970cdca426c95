package speedscope

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// fixture builds small profiles from stacks written the way people read
// them. Each package's tests keep their own copy: the packages share no
// test-only code.
type fixture struct {
	p     *callgraph.Profile
	funcs map[string]callgraph.FuncID
}

// newFixture returns an empty profile measuring values; the last one is the
// default.
func newFixture(values ...callgraph.Value) *fixture {
	return &fixture{
		p:     &callgraph.Profile{Values: values, Default: values[len(values)-1]},
		funcs: map[string]callgraph.FuncID{},
	}
}

// fn declares a function. Undeclared names become Python functions of
// app.py starting at line 1.
func (f *fixture) fn(name, file string, line int, kind callgraph.FuncKind) *fixture {
	f.funcs[name] = f.p.AddFunc(callgraph.Func{Name: name, Filename: file, StartLine: line, Kind: kind})
	return f
}

// add adds self values, in p.Values order, to the node at the end of stack
// in the named thread. A stack is "main@3;work@10;len": len called from
// line 10 of work, called from line 3 of main; a line on the leaf is its
// SelfLine. Time and sample values are added along the whole path, since
// nodes hold them inclusively; calls only at the leaf.
func (f *fixture) add(t *testing.T, thread, stack string, vals ...int64) *fixture {
	t.Helper()
	if len(vals) != len(f.p.Values) {
		t.Fatalf("add %q: %d values for %d kinds", stack, len(vals), len(f.p.Values))
	}
	n := f.thread(thread).Root
	var path []*callgraph.Node
	var callLine int32
	for _, frame := range strings.Split(stack, ";") {
		name, line := splitFrame(t, frame)
		n = n.Child(f.fnID(name), callLine)
		path = append(path, n)
		callLine = line
	}
	n.SelfLine = callLine
	for i, v := range f.p.Values {
		if v == callgraph.Calls {
			n.Total[v] += vals[i]
			continue
		}
		for _, x := range path {
			x.Total[v] += vals[i]
		}
	}
	return f
}

func splitFrame(t *testing.T, frame string) (string, int32) {
	t.Helper()
	name, lineText, ok := strings.Cut(frame, "@")
	if !ok {
		return name, 0
	}
	line, err := strconv.Atoi(lineText)
	if err != nil {
		t.Fatalf("frame %q: %v", frame, err)
	}
	return name, int32(line)
}

func (f *fixture) fnID(name string) callgraph.FuncID {
	if id, ok := f.funcs[name]; ok {
		return id
	}
	f.fn(name, "app.py", 1, callgraph.KindPython)
	return f.funcs[name]
}

func (f *fixture) thread(name string) *callgraph.Thread {
	for _, t := range f.p.Threads {
		if t.Name == name {
			return t
		}
	}
	t := &callgraph.Thread{ID: int64(100 + len(f.p.Threads)), Name: name, Root: &callgraph.Node{}}
	f.p.Threads = append(f.p.Threads, t)
	return t
}
