package speedscope

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

var golden = exporttest.Golden{Update: flag.Bool("update", false, "rewrite the golden files in testdata")}

const ms = 1_000_000

// sample has two threads (one of another process), recursion, call sites
// on several lines, a native builtin and a marker.
func sample(t *testing.T) *callgraph.Profile {
	t.Helper()
	f := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Fn("app.fib", "app.py", 10, callgraph.KindPython).
		Fn("builtins.len", "", 0, callgraph.KindNative).
		Fn("[lost events]", "", 0, callgraph.KindMarker)
	f.Add(t, "MainThread", "app.main@7", 1, 2*ms).
		Add(t, "MainThread", "app.main@7;app.fib@12", 1, 30*ms).
		Add(t, "MainThread", "app.main@7;app.fib@12;app.fib", 2, 50*ms).
		Add(t, "MainThread", "app.main@8;builtins.len", 1500, 7*ms).
		Add(t, "worker-1", "app.main@8;builtins.len", 2000, 90*ms).
		Add(t, "worker-1", "[lost events]", 0, 4*ms)
	f.Profile.Threads[1].PID = 4321
	return f.Profile
}

func samplesOnly(t *testing.T) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Samples).
		Add(t, "MainThread", "app.main@3", 40).
		Add(t, "MainThread", "app.main@4;app.helper@9", 2).Profile
}

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		golden string
		p      *callgraph.Profile
		v      callgraph.Value
	}{
		{"value-wall", sample(t), callgraph.Wall},
		{"value-calls", sample(t), callgraph.Calls},
		{"value-samples", samplesOnly(t), callgraph.Samples},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			if err := Write(&out, tt.p, valueOpts(tt.v)); err != nil {
				t.Fatal(err)
			}
			// Every file written is read back.
			if _, err := Read(bytes.NewReader(out.Bytes())); err != nil {
				t.Fatalf("reading back: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tt.golden+".speedscope.json"), pretty.Bytes())
		})
	}
}

// TestRoundTrip writes, reads and writes again: the paths, lines, values and
// threads survive, and the second file is the first byte for byte.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    *callgraph.Profile
		v    callgraph.Value
	}{
		{"wall", sample(t), callgraph.Wall},
		{"calls", sample(t), callgraph.Calls},
		{"samples", samplesOnly(t), callgraph.Samples},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := write(t, tt.p, tt.v)
			back, err := Read(bytes.NewReader(first))
			if err != nil {
				t.Fatal(err)
			}
			if back.Default != tt.v || !slices.Equal(back.Values, []callgraph.Value{tt.v}) {
				t.Errorf("read back values %v default %v, want [%v]", back.Values, back.Default, tt.v)
			}
			if got, want := flatten(back, tt.v), flatten(tt.p, tt.v); !slices.Equal(got, want) {
				t.Errorf("read back\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if second := write(t, back, tt.v); !bytes.Equal(first, second) {
				t.Errorf("second write differs:\n%s\n%s", first, second)
			}
		})
	}
}

func write(t *testing.T, p *callgraph.Profile, v callgraph.Value) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Write(&out, p, valueOpts(v)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// flatten lists every node with a nonzero self value as
// "thread [pid/tid];frame@line;... self", frames at the line the format
// keeps: the call site, the def line when that is unknown.
func flatten(p *callgraph.Profile, v callgraph.Value) []string {
	var out []string
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			leaf := path[len(path)-1]
			if leaf.Self(v) == 0 {
				return
			}
			parts := []string{fmt.Sprintf("%s [%d/%d]", th.Name, th.PID, th.ID)}
			for i, n := range path {
				line := leaf.SelfLine
				if i+1 < len(path) {
					line = path[i+1].CallLine
				}
				f := p.Funcs[n.Func]
				if line == 0 {
					line = int32(f.StartLine)
				}
				parts = append(parts, fmt.Sprintf("%s(%s,%s)@%d", f.Name, f.Filename, f.Kind, line))
			}
			out = append(out, fmt.Sprintf("%s %d", strings.Join(parts, ";"), leaf.Self(v)))
		})
	}
	slices.Sort(out)
	return out
}

func TestReadEvented(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "evented.speedscope.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	want := map[callgraph.Value][]string{
		// main 0-10ms; work twice (1-4ms, 5-6ms) from line 3; len 2-3ms
		// from work's line 7. In "other" the marker is still open at the
		// end and closes at endValue, 3000us.
		callgraph.Wall: {
			"main [0/1];main(app.py,python)@3 6000000",
			"main [0/1];main(app.py,python)@3;work(app.py,python)@7 3000000",
			"main [0/1];main(app.py,python)@3;work(app.py,python)@7;len(,native)@0 1000000",
			"other [0/2];[lost events](,marker)@0 2000000",
			"other [0/2];main(app.py,python)@3 1000000",
		},
		callgraph.Calls: {
			"main [0/1];main(app.py,python)@3 1",
			"main [0/1];main(app.py,python)@3;work(app.py,python)@7 2",
			"main [0/1];main(app.py,python)@3;work(app.py,python)@7;len(,native)@0 1",
			"other [0/2];[lost events](,marker)@0 1",
			"other [0/2];main(app.py,python)@3 1",
		},
	}
	for v, lines := range want {
		if got := flatten(p, v); !slices.Equal(got, lines) {
			t.Errorf("%s:\n%s\nwant\n%s", v.Info().Type, strings.Join(got, "\n"), strings.Join(lines, "\n"))
		}
	}
	if p.Duration != 12*ms {
		t.Errorf("duration %v, want 12ms", p.Duration)
	}
}

func TestReadErrors(t *testing.T) {
	const frames = `"shared":{"frames":[{"name":"a"},{"name":"b"}]}`
	sampled := func(rest string) string {
		return `{"$schema":"` + Schema + `",` + frames + `,"profiles":[{"type":"sampled","name":"t","unit":"none",` + rest + `}]}`
	}
	evented := func(events string) string {
		return `{"$schema":"` + Schema + `",` + frames + `,"profiles":[{"type":"evented","name":"t","unit":"milliseconds","startValue":0,"endValue":5,"events":[` + events + `]}]}`
	}
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{`, "unexpected EOF"},
		{"other schema", `{"$schema":"x"}`, `$schema is "x"`},
		{"no profiles", `{"$schema":"` + Schema + `",` + frames + `,"profiles":[]}`, "no profiles"},
		{"frame out of range", sampled(`"samples":[[0,2]],"weights":[1]`), "profile 0 (t): sample 0: frame 2 of 2"},
		{"weights missing", sampled(`"samples":[[0]],"weights":[]`), "1 samples but 0 weights"},
		{"negative weight", sampled(`"samples":[[0]],"weights":[-5]`), "a sample weighs -5: weights are amounts, never negative"},
		{"bytes", strings.Replace(sampled(`"samples":[],"weights":[]`), `"none"`, `"bytes"`, 1), `unit "bytes" is not supported`},
		{"unknown type", strings.Replace(sampled(`"samples":[],"weights":[]`), `"sampled"`, `"flame"`, 1), `unknown profile type "flame"`},
		{"close without open", evented(`{"type":"C","frame":0,"at":1}`), "event 0: closes frame 0, but no frame is open"},
		{"close out of order", evented(`{"type":"O","frame":0,"at":0},{"type":"O","frame":1,"at":1},{"type":"C","frame":0,"at":2}`), "event 2: closes frame 0, but frame 1 is the innermost open one"},
		{"time goes back", evented(`{"type":"O","frame":0,"at":3},{"type":"C","frame":0,"at":2}`), "event 1 at 2 comes before the previous one at 3"},
		{"unknown event", evented(`{"type":"X","frame":0,"at":3}`), `event 0: unknown type "X"`},
		{"evented counts", strings.Replace(evented(``), `"milliseconds"`, `"none"`, 1), `evented profile in unit "none"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "reading speedscope: ") {
				t.Errorf("error %q lacks its context", err)
			}
		})
	}
}

func TestWriteUnmeasuredValue(t *testing.T) {
	err := Write(&bytes.Buffer{}, samplesOnly(t), valueOpts(callgraph.Wall))
	if err == nil || err.Error() != "writing speedscope: profile has no wall values" {
		t.Fatalf("error = %v", err)
	}
}

// FuzzRead feeds Read arbitrary files: it must never panic, and whatever it
// accepts must write and read back.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"value-wall", "value-calls", "value-samples", "evented"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".speedscope.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, p, export.Options{}); err != nil {
			t.Fatalf("writing what was read: %v", err)
		}
		if _, err := Read(&out); err != nil {
			t.Fatalf("reading what was written: %v", err)
		}
	})
}

func valueOpts(v callgraph.Value) export.Options { return export.Options{Value: &v} }
