package exporttest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// Fixture builds small profiles from stacks written the way people read
// them.
type Fixture struct {
	// Profile is the profile being built.
	Profile *callgraph.Profile
	funcs   map[string]callgraph.FuncID
}

// NewFixture returns an empty profile measuring values; the last one is the
// default.
func NewFixture(values ...callgraph.Value) *Fixture {
	return &Fixture{
		Profile: &callgraph.Profile{Values: values, Default: values[len(values)-1]},
		funcs:   map[string]callgraph.FuncID{},
	}
}

// Fn declares a function. Undeclared names become Python functions of
// app.py starting at line 1.
func (f *Fixture) Fn(name, file string, line int, kind callgraph.FuncKind) *Fixture {
	f.funcs[name] = f.Profile.AddFunc(callgraph.Func{Name: name, Filename: file, StartLine: line, Kind: kind})
	return f
}

// Add adds self values, in Profile.Values order, to the node at the end of
// stack in the named thread. A stack is "main@3;work@10;len": len called
// from line 10 of work, called from line 3 of main; a line on the leaf is
// its SelfLine. Time and sample values are added along the whole path,
// since nodes hold them inclusively; calls only at the leaf.
func (f *Fixture) Add(t testing.TB, thread, stack string, vals ...int64) *Fixture {
	t.Helper()
	if len(vals) != len(f.Profile.Values) {
		t.Fatalf("add %q: %d values for %d kinds", stack, len(vals), len(f.Profile.Values))
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
	for i, v := range f.Profile.Values {
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

func splitFrame(t testing.TB, frame string) (string, int32) {
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

func (f *Fixture) fnID(name string) callgraph.FuncID {
	if id, ok := f.funcs[name]; ok {
		return id
	}
	f.Fn(name, "app.py", 1, callgraph.KindPython)
	return f.funcs[name]
}

func (f *Fixture) thread(name string) *callgraph.Thread {
	for _, t := range f.Profile.Threads {
		if t.Name == name {
			return t
		}
	}
	t := &callgraph.Thread{ID: int64(100 + len(f.Profile.Threads)), Name: name, Root: &callgraph.Node{}}
	f.Profile.Threads = append(f.Profile.Threads, t)
	return t
}
