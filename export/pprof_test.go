package export

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/pyprof/pyprof/callgraph"
	"github.com/rogpeppe/go-internal/diff"
)

func TestWritePprofGolden(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			data := writePprof(t, fx.profile(), fx.opts)
			checkGolden(t, goldenName(fx.name, fx.opts, "pprof.txt"), dumpPprof(parseBack(t, data)))
		})
	}
}

func TestWritePprofIsDeterministic(t *testing.T) {
	a := writePprof(t, basicProfile(), Options{})
	b := writePprof(t, basicProfile(), Options{})
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same profile differ")
	}
}

// The compressor made ahead (PrepareWriters) and handed back after each
// write must never be shared by two writes at once, nor carry anything of
// one profile into the next.
func TestWritePprofReusesOneCompressorSafely(t *testing.T) {
	want := writePprof(t, basicProfile(), Options{})
	PrepareWriters()
	const writers = 8
	got := make([][]byte, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			var buf bytes.Buffer
			errs[i] = WritePprof(&buf, basicProfile(), Options{})
			got[i] = buf.Bytes()
		})
	}
	wg.Wait()
	for i := range writers {
		if errs[i] != nil {
			t.Fatalf("write %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i], want) {
			t.Errorf("write %d of %d at once differs from a write alone", i, writers)
		}
	}
}

func TestWritePprofRejects(t *testing.T) {
	tests := []struct {
		name    string
		profile func() *callgraph.Profile
		want    string
	}{
		{"no values", func() *callgraph.Profile {
			p := basicProfile()
			p.Values = nil
			return p
		}, "writing pprof: profile measured no values"},
		{"unknown function", func() *callgraph.Profile {
			p := chainProfile(2, 1)
			p.Threads[0].Root.Children[0].Func = 7
			return p
		}, "writing pprof: thread 1 (MainThread): node refers to function 7 of 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WritePprof(&bytes.Buffer{}, tt.profile(), Options{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("WritePprof = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPprofRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			first := writePprof(t, fx.profile(), fx.opts)
			p, err := ReadPprof(bytes.NewReader(first))
			if err != nil {
				t.Fatalf("ReadPprof: %v", err)
			}
			second := writePprof(t, p, fx.opts)
			if !bytes.Equal(first, second) {
				a, b := dumpPprof(parseBack(t, first)), dumpPprof(parseBack(t, second))
				t.Errorf("write, read, write changed the pprof:\n%s", diff.Diff("first", a, "second", b))
			}
		})
	}
}

func TestReadPprofKeepsTheModel(t *testing.T) {
	orig := basicProfile()
	orig.Comments = []string{"pyprof devel, trace mode", "program waited for pyprof: 0s"}
	p, err := ReadPprof(bytes.NewReader(writePprof(t, orig, Options{})))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Comments, orig.Comments) {
		t.Errorf("comments %q, want %q", p.Comments, orig.Comments)
	}
	if !slices.Equal(p.Values, orig.Values) || p.Default != orig.Default {
		t.Errorf("values %v default %v, want %v default %v", p.Values, p.Default, orig.Values, orig.Default)
	}
	if !p.Start.Equal(orig.Start) || p.Duration != orig.Duration || p.Period != 0 {
		t.Errorf("start %v duration %v period %v, want %v %v 0", p.Start, p.Duration, p.Period, orig.Start, orig.Duration)
	}
	for _, v := range orig.Values {
		if got, want := p.Total(v), orig.Total(v); got != want {
			t.Errorf("total %s = %d, want %d", v.Info().Type, got, want)
		}
	}
	var threads []string
	for _, th := range p.Threads {
		threads = append(threads, fmt.Sprintf("%s/%d/%d", th.Name, th.ID, th.PID))
	}
	if got, want := strings.Join(threads, " "), "MainThread/100/0 worker-1/101/0 MainThread/200/4242"; got != want {
		t.Errorf("threads %q, want %q", got, want)
	}
	kinds := map[string]callgraph.FuncKind{}
	for _, f := range p.Funcs {
		kinds[f.Name] = f.Kind
	}
	for name, want := range map[string]callgraph.FuncKind{
		"__main__.fib":  callgraph.KindPython,
		"builtins.len":  callgraph.KindNative,
		"[lost events]": callgraph.KindMarker,
	} {
		if kinds[name] != want {
			t.Errorf("%s is %v, want %v", name, kinds[name], want)
		}
	}
}

func TestReadPprofPeriod(t *testing.T) {
	p, err := ReadPprof(bytes.NewReader(writePprof(t, sampledProfile(), Options{})))
	if err != nil {
		t.Fatal(err)
	}
	if p.Period != 10*time.Millisecond || p.Default != callgraph.CPU {
		t.Errorf("period %v default %v, want 10ms cpu", p.Period, p.Default)
	}
}

// foreignPprof builds a pprof the way other tools do: their own sample
// types, inlined frames, unsymbolized addresses, no thread labels.
func foreignPprof(types ...*profile.ValueType) *profile.Profile {
	outer := &profile.Function{ID: 1, Name: "outer", Filename: "x.go", StartLine: 1}
	inner := &profile.Function{ID: 2, Name: "inner", Filename: "x.go", StartLine: 9}
	inlined := &profile.Location{ID: 1, Line: []profile.Line{{Function: inner, Line: 10}, {Function: outer, Line: 3}}}
	raw := &profile.Location{ID: 2, Address: 0xbeef}
	vals := make([]int64, len(types))
	for i := range vals {
		vals[i] = int64(i + 1)
	}
	return &profile.Profile{
		SampleType: types,
		Sample:     []*profile.Sample{{Location: []*profile.Location{raw, inlined}, Value: vals}},
		Location:   []*profile.Location{inlined, raw},
		Function:   []*profile.Function{outer, inner},
	}
}

func TestReadPprofForeign(t *testing.T) {
	tests := []struct {
		name        string
		types       []*profile.ValueType
		wantValues  []callgraph.Value
		wantDefault callgraph.Value
		wantTotals  vals
	}{
		{
			name:        "go cpu types",
			types:       []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			wantValues:  []callgraph.Value{callgraph.Samples, callgraph.CPU},
			wantDefault: callgraph.CPU,
			wantTotals:  vals{callgraph.Samples: 1, callgraph.CPU: 2},
		},
		{
			name:        "time in microseconds",
			types:       []*profile.ValueType{{Type: "wall", Unit: "microseconds"}},
			wantValues:  []callgraph.Value{callgraph.Wall},
			wantDefault: callgraph.Wall,
			wantTotals:  vals{callgraph.Wall: 1000},
		},
		{
			name:        "unknown types fall back to the first as samples",
			types:       []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"}},
			wantValues:  []callgraph.Value{callgraph.Samples},
			wantDefault: callgraph.Samples,
			wantTotals:  vals{callgraph.Samples: 1},
		},
		{
			name:        "unknown types are dropped",
			types:       []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}, {Type: "calls", Unit: "count"}, {Type: "wall", Unit: "furlongs"}},
			wantValues:  []callgraph.Value{callgraph.Calls},
			wantDefault: callgraph.Calls,
			wantTotals:  vals{callgraph.Calls: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := foreignPprof(tt.types...).Write(&buf); err != nil {
				t.Fatal(err)
			}
			p, err := ReadPprof(&buf)
			if err != nil {
				t.Fatalf("ReadPprof: %v", err)
			}
			if !slices.Equal(p.Values, tt.wantValues) || p.Default != tt.wantDefault {
				t.Errorf("values %v default %v, want %v default %v", p.Values, p.Default, tt.wantValues, tt.wantDefault)
			}
			for _, v := range p.Values {
				if got := p.Total(v); got != tt.wantTotals[v] {
					t.Errorf("total %s = %d, want %d", v.Info().Type, got, tt.wantTotals[v])
				}
			}
			if got, want := strings.Join(walkPaths(t, p, Options{}), "\n"), "outer:1\nouter:3;inner:9\nouter:3;inner:10;0xbeef:0"; got != want {
				t.Errorf("paths:\n%s\nwant:\n%s", got, want)
			}
			if len(p.Threads) != 1 || p.Threads[0].Name != "all" {
				t.Errorf("threads %+v, want one thread all", p.Threads)
			}
		})
	}
}

func TestReadPprofErrors(t *testing.T) {
	var empty bytes.Buffer
	if err := (&profile.Profile{Comments: []string{"no sample types"}}).Write(&empty); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"no sample types", empty.Bytes(), ErrEmpty},
		{"nothing at all", nil, ErrEmpty},
		{"garbage", []byte("\x1f\x8bnot really gzip"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPprof(bytes.NewReader(tt.data))
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("ReadPprof = %v, want %v", err, tt.want)
			}
		})
	}
}

//go:noinline
func busyLoop(d time.Duration) int {
	n := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 1000 {
			n += i * i
		}
	}
	return n
}

func TestReadGoCPUProfile(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("cannot profile this test: %v", err)
	}
	busyLoop(300 * time.Millisecond)
	pprof.StopCPUProfile()
	p, err := ReadPprof(&buf)
	if errors.Is(err, ErrEmpty) {
		t.Skip("the CPU profile caught no samples")
	}
	if err != nil {
		t.Fatalf("ReadPprof: %v", err)
	}
	if !slices.Equal(p.Values, []callgraph.Value{callgraph.Samples, callgraph.CPU}) || p.Default != callgraph.CPU {
		t.Errorf("values %v default %v, want [samples cpu] cpu", p.Values, p.Default)
	}
	if p.Period == 0 || p.Total(callgraph.CPU) <= 0 || p.Total(callgraph.Samples) <= 0 {
		t.Errorf("period %v, cpu %d, samples %d: want all positive", p.Period, p.Total(callgraph.CPU), p.Total(callgraph.Samples))
	}
	if !slices.ContainsFunc(p.Funcs, func(f callgraph.Func) bool { return strings.HasSuffix(f.Name, "busyLoop") }) {
		t.Error("busyLoop is not among the functions")
	}
	writePprof(t, p, Options{}) // and it can be written again
}

func TestMaxDepthKeepsLeafExact(t *testing.T) {
	const depth, leafCalls, maxDepth = 5000, 7, 100
	p := chainProfile(depth-1, 1)
	deepest := p.Threads[0].Root
	for len(deepest.Children) > 0 {
		deepest = deepest.Children[0]
	}
	leaf := p.AddFunc(callgraph.Func{Name: "leaf", Filename: "deep.py", StartLine: 50})
	add(deepest, leaf, 8, 51, vals{callgraph.Calls: leafCalls})
	opts := Options{MaxDepth: maxDepth}

	pp := parseBack(t, writePprof(t, p, opts))
	var leafSample *profile.Sample
	for _, s := range pp.Sample {
		if s.Location[0].Line[0].Function.Name == "leaf" {
			leafSample = s
		}
	}
	if leafSample == nil {
		t.Fatal("no sample ends in leaf")
	}
	if got := len(leafSample.Location); got != maxDepth+1 {
		t.Errorf("leaf sample has %d locations, want %d", got, maxDepth+1)
	}
	if got, want := leafSample.Location[len(leafSample.Location)-1].Line[0].Function.Name, CutMarkerName(maxDepth); got != want {
		t.Errorf("leaf sample's root is %q, want %q", got, want)
	}
	if got := leafSample.Value[0]; got != leafCalls {
		t.Errorf("leaf calls = %d, want %d", got, leafCalls)
	}
	if got, want := pprofTotal(pp, "calls"), p.Total(callgraph.Calls); got != want {
		t.Errorf("pprof calls total %d, want %d", got, want)
	}
	// The cut paths of the recursion above leaf merge into one sample.
	if got, want := len(pp.Sample), maxDepth+2; got != want {
		t.Errorf("%d samples, want %d", got, want)
	}

	folded := writeFolded(t, p, callgraph.Calls, opts)
	lines := strings.Split(strings.TrimSuffix(string(folded), "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, CutMarkerName(maxDepth)+";") || !strings.HasSuffix(last, ";leaf 7") {
		t.Errorf("last folded line is %.40q...%q", last, last[len(last)-20:])
	}
	if got := strings.Count(last, ";") + 1; got != maxDepth+1 {
		t.Errorf("last folded line has %d frames, want %d", got, maxDepth+1)
	}
	if got, want := foldedTotal(t, folded), p.Total(callgraph.Calls); got != want {
		t.Errorf("folded calls total %d, want %d", got, want)
	}
}

func TestPprofThreadLabels(t *testing.T) {
	tests := []struct {
		name       string
		id, pid    int64
		threadName string
		want       string // name/id/pid read back
	}{
		{"named", 0, 0, "MainThread", "MainThread/0/0"},
		{"numbered", 5, 0, "", "/5/0"},
		{"in another process", 5, 99, "w", "w/5/99"},
		{"anonymous", 0, 0, "", "all/0/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := chainProfile(1, 1)
			th := p.Threads[0]
			th.ID, th.PID, th.Name = tt.id, tt.pid, tt.threadName
			back, err := ReadPprof(bytes.NewReader(writePprof(t, p, Options{})))
			if err != nil {
				t.Fatal(err)
			}
			got := back.Threads[0]
			if s := fmt.Sprintf("%s/%d/%d", got.Name, got.ID, got.PID); len(back.Threads) != 1 || s != tt.want {
				t.Errorf("read back %d threads, first %s; want %s", len(back.Threads), s, tt.want)
			}
		})
	}
}
