package export

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/pyprof/pyprof/callgraph"
	"github.com/rogpeppe/go-internal/diff"
)

var update = flag.Bool("update", false, "rewrite the golden files and fuzz seeds under testdata")

// vals holds a node's totals: Calls its own count, the rest inclusive.
type vals = [callgraph.NumValues]int64

// add gives parent the child (f, callLine) with the given lines and totals.
func add(parent *callgraph.Node, f callgraph.FuncID, callLine, selfLine int32, total vals) *callgraph.Node {
	n := parent.Child(f, callLine)
	n.SelfLine = selfLine
	n.Total = total
	return n
}

func newThread(p *callgraph.Profile, id int64, name string, pid int64) *callgraph.Node {
	t := &callgraph.Thread{ID: id, Name: name, PID: pid, Root: &callgraph.Node{}}
	p.Threads = append(p.Threads, t)
	return t.Root
}

var fixtureStart = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// basicProfile is a trace-mode profile with every edge the exporters must
// handle: recursion, a native callee, a generator resumed with no call line,
// a marker, two threads and a thread of a subprocess.
func basicProfile() *callgraph.Profile {
	p := &callgraph.Profile{
		Values:   []callgraph.Value{callgraph.Calls, callgraph.Wall},
		Default:  callgraph.Wall,
		Start:    fixtureStart,
		Duration: 2 * time.Second,
	}
	mainF := p.AddFunc(callgraph.Func{Name: "__main__.main", Filename: "main.py", StartLine: 1})
	fib := p.AddFunc(callgraph.Func{Name: "__main__.fib", Filename: "main.py", StartLine: 10})
	length := p.AddFunc(callgraph.Func{Name: "builtins.len", Kind: callgraph.KindNative})
	gen := p.AddFunc(callgraph.Func{Name: "__main__.gen", Filename: "main.py", StartLine: 20})
	lost := p.AddFunc(callgraph.Func{Name: "[lost events]", Kind: callgraph.KindMarker})
	run := p.AddFunc(callgraph.Func{Name: "worker.Worker.run", Filename: "worker.py", StartLine: 5})

	root := newThread(p, 100, "MainThread", 0)
	m := add(root, mainF, 0, 3, vals{callgraph.Calls: 1, callgraph.Wall: 1000})
	f1 := add(m, fib, 4, 11, vals{callgraph.Calls: 1, callgraph.Wall: 600})
	f2 := add(f1, fib, 12, 11, vals{callgraph.Calls: 2, callgraph.Wall: 400})
	add(f2, fib, 12, 11, vals{callgraph.Calls: 4, callgraph.Wall: 100})
	add(f2, length, 13, 0, vals{callgraph.Calls: 3, callgraph.Wall: 50})
	add(m, gen, 5, 21, vals{callgraph.Calls: 1, callgraph.Wall: 100})
	add(m, gen, 0, 22, vals{callgraph.Wall: 200}) // resumed by a for loop: not a call

	root = newThread(p, 101, "worker-1", 0)
	w := add(root, run, 0, 6, vals{callgraph.Calls: 1, callgraph.Wall: 500})
	add(w, fib, 7, 11, vals{callgraph.Calls: 1, callgraph.Wall: 300})
	add(root, lost, 0, 0, vals{callgraph.Wall: 40})

	root = newThread(p, 200, "MainThread", 4242)
	add(root, mainF, 0, 2, vals{callgraph.Calls: 1, callgraph.Wall: 70})
	return p
}

// sampledProfile is a sampling-mode profile: a period, CPU as default, and
// GIL time.
func sampledProfile() *callgraph.Profile {
	p := &callgraph.Profile{
		Values:   []callgraph.Value{callgraph.Samples, callgraph.CPU, callgraph.Wall, callgraph.GIL},
		Default:  callgraph.CPU,
		Start:    fixtureStart,
		Duration: time.Second,
		Period:   10 * time.Millisecond,
	}
	a := p.AddFunc(callgraph.Func{Name: "app.handle", Filename: "app.py", StartLine: 30})
	b := p.AddFunc(callgraph.Func{Name: "json.encoder.JSONEncoder.encode", Filename: "/usr/lib/python3.12/json/encoder.py", StartLine: 183})
	root := newThread(p, 7, "MainThread", 0)
	h := add(root, a, 0, 33, vals{callgraph.Samples: 10, callgraph.CPU: 1e8, callgraph.Wall: 2e8, callgraph.GIL: 1.5e8})
	add(h, b, 31, 200, vals{callgraph.Samples: 6, callgraph.CPU: 6e7, callgraph.Wall: 6e7, callgraph.GIL: 5e7})
	return p
}

// oddNamesProfile has names that folded stacks cannot hold as they are.
func oddNamesProfile() *callgraph.Profile {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls}, Default: callgraph.Calls}
	a := p.AddFunc(callgraph.Func{Name: "mod.<lambda>;x", Filename: "a.py", StartLine: 1})
	b := p.AddFunc(callgraph.Func{Name: "two\nlines\r", Filename: "b.py", StartLine: 2})
	c := p.AddFunc(callgraph.Func{Name: "日本.関数 (with spaces)", Filename: "ü.py", StartLine: 3})
	root := newThread(p, 1, "MainThread", 0)
	n := add(root, a, 0, 1, vals{callgraph.Calls: 1})
	n = add(n, b, 1, 2, vals{callgraph.Calls: 2})
	add(n, c, 2, 3, vals{callgraph.Calls: 3})
	return p
}

// chainProfile is a recursion depth deep, each frame one call, the leaf
// leafCalls.
func chainProfile(depth int, leafCalls int64) *callgraph.Profile {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Calls}
	top := p.AddFunc(callgraph.Func{Name: "main", Filename: "deep.py", StartLine: 1})
	rec := p.AddFunc(callgraph.Func{Name: "rec", Filename: "deep.py", StartLine: 5})
	n := add(newThread(p, 1, "MainThread", 0), top, 0, 2, vals{callgraph.Calls: 1, callgraph.Wall: int64(depth)})
	for i := 1; i < depth; i++ {
		n = add(n, rec, 6, 7, vals{callgraph.Calls: 1, callgraph.Wall: int64(depth - i)})
	}
	n.Total[callgraph.Calls] = leafCalls
	return p
}

// fixtures are the profiles every exporter test runs over.
var fixtures = []struct {
	name    string
	profile func() *callgraph.Profile
	opts    Options
}{
	{"basic", basicProfile, Options{}},
	{"sampled", sampledProfile, Options{}},
	{"oddnames", oddNamesProfile, Options{}},
	{"chain12", func() *callgraph.Profile { return chainProfile(12, 5) }, Options{MaxDepth: 5}},
}

// goldenName names a golden file after the options that made it.
func goldenName(fixture string, opts Options, what string) string {
	return fmt.Sprintf("%s.maxdepth%d.%s", fixture, opts.maxDepth(), what)
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./export -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("output differs from %s (go test ./export -update rewrites it):\n%s", path, diff.Diff(path, want, "got", got))
	}
}

// writePprof writes p and checks that the bytes are a valid pprof.
func writePprof(t *testing.T, p *callgraph.Profile, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePprof(&buf, p, opts); err != nil {
		t.Fatalf("WritePprof: %v", err)
	}
	parseBack(t, buf.Bytes())
	return buf.Bytes()
}

// parseBack parses a written pprof as any consumer would and checks what
// profile.Write does not: ids and the empty first string.
func parseBack(t *testing.T, data []byte) *profile.Profile {
	t.Helper()
	pp, err := profile.ParseData(data)
	if err != nil {
		t.Fatalf("parsing written pprof: %v", err)
	}
	if err := pp.CheckValid(); err != nil {
		t.Fatalf("written pprof is invalid: %v", err)
	}
	for _, f := range pp.Function {
		if f.ID == 0 {
			t.Errorf("function %q has id 0", f.Name)
		}
	}
	for _, l := range pp.Location {
		if l.ID == 0 {
			t.Errorf("location has id 0")
		}
	}
	for _, m := range pp.Mapping {
		if m.ID == 0 {
			t.Errorf("mapping has id 0")
		}
	}
	if s, err := firstString(data); err != nil || s != "" {
		t.Errorf("string table[0] = %q, %v; want \"\"", s, err)
	}
	return pp
}

// firstString returns the first entry of a gzipped profile's string table
// (field 6), which profile.Profile keeps private.
func firstString(data []byte) (string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return "", err
	}
	for len(raw) > 0 {
		key, n := binary.Uvarint(raw)
		if n <= 0 {
			return "", fmt.Errorf("bad key")
		}
		raw = raw[n:]
		field, wire := key>>3, key&7
		var size uint64
		switch wire {
		case 0:
			_, n = binary.Uvarint(raw)
			size = uint64(n)
		case 1:
			size = 8
		case 2:
			size, n = binary.Uvarint(raw)
			raw = raw[n:]
		case 5:
			size = 4
		default:
			return "", fmt.Errorf("bad wire type %d", wire)
		}
		if size > uint64(len(raw)) {
			return "", fmt.Errorf("truncated field %d", field)
		}
		if field == 6 {
			return string(raw[:size]), nil
		}
		raw = raw[size:]
	}
	return "", fmt.Errorf("no string table")
}

// dumpPprof renders a pprof as stable text for goldens: header, functions
// and locations in id order, then samples root first.
func dumpPprof(pp *profile.Profile) []byte {
	var b strings.Builder
	for _, st := range pp.SampleType {
		fmt.Fprintf(&b, "sample type %s/%s\n", st.Type, st.Unit)
	}
	fmt.Fprintf(&b, "default %q time %d duration %d\n", pp.DefaultSampleType, pp.TimeNanos, pp.DurationNanos)
	if pp.Period != 0 {
		fmt.Fprintf(&b, "period %d %s/%s\n", pp.Period, pp.PeriodType.Type, pp.PeriodType.Unit)
	}
	for _, f := range pp.Function {
		fmt.Fprintf(&b, "function %d %q system %q file %q start %d\n", f.ID, f.Name, f.SystemName, f.Filename, f.StartLine)
	}
	for _, l := range pp.Location {
		fmt.Fprintf(&b, "location %d:", l.ID)
		for _, ln := range l.Line {
			fmt.Fprintf(&b, " function %d line %d", ln.Function.ID, ln.Line)
		}
		b.WriteString("\n")
	}
	for _, s := range pp.Sample {
		fmt.Fprintf(&b, "sample %v %s\n", s.Value, dumpLabels(s))
		for i := len(s.Location) - 1; i >= 0; i-- {
			for _, ln := range s.Location[i].Line {
				fmt.Fprintf(&b, "  %s:%d\n", ln.Function.Name, ln.Line)
			}
		}
	}
	return []byte(b.String())
}

func dumpLabels(s *profile.Sample) string {
	var labels []string
	for k, v := range s.Label {
		labels = append(labels, fmt.Sprintf("%s=%q", k, v))
	}
	for k, v := range s.NumLabel {
		labels = append(labels, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(labels) // map order is random
	return strings.Join(labels, " ")
}

// pprofTotal sums one sample type's column.
func pprofTotal(pp *profile.Profile, typ string) int64 {
	var sum int64
	for i, st := range pp.SampleType {
		if st.Type != typ {
			continue
		}
		for _, s := range pp.Sample {
			sum += s.Value[i]
		}
	}
	return sum
}
