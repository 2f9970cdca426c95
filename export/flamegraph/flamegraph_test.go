package flamegraph

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

var golden = exporttest.Golden{Update: flag.Bool("update", false, "rewrite the golden files in testdata"), Clip: 300}

const ms = 1_000_000

// sample has two threads, recursion, a native builtin, a marker and names
// that need escaping.
func sample(t *testing.T) *callgraph.Profile {
	t.Helper()
	f := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Fn("app.fib", "app.py", 10, callgraph.KindPython).
		Fn("builtins.len", "", 0, callgraph.KindNative).
		Fn("app.<lambda>", "app.py", 30, callgraph.KindPython).
		Fn("a&b<c>\"d\"", "we&ird.py", 5, callgraph.KindPython).
		Fn("[lost events]", "", 0, callgraph.KindMarker)
	return f.Add(t, "MainThread", "app.main@7", 1, 2*ms).
		Add(t, "MainThread", "app.main@7;app.fib@12", 1, 30*ms).
		Add(t, "MainThread", "app.main@7;app.fib@12;app.fib@12", 2, 50*ms).
		Add(t, "MainThread", "app.main@8;builtins.len", 1500, 7*ms).
		Add(t, "MainThread", "app.main@9;app.<lambda>;a&b<c>\"d\"", 3, 120*ms).
		Add(t, "MainThread", "app.main@9;app.<lambda>;builtins.len", 3, 1*ms).
		Add(t, "worker-1", "app.main@8;builtins.len", 2000, 90*ms).
		Add(t, "worker-1", "[lost events]", 0, 4*ms).Profile
}

func singleThread(t *testing.T) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Wall).
		Add(t, "MainThread", "app.main@3;app.work@4", 60*ms).
		Add(t, "MainThread", "app.main@5;app.work@4", 30*ms).
		Add(t, "MainThread", "app.main@6;app.other", 10*ms).Profile
}

// deep is a recursion 50 frames deep.
func deep(t *testing.T) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Wall).Add(t, "MainThread", strings.Repeat("app.rec@2;", 49)+"app.rec", ms).Profile
}

func val(v callgraph.Value) *callgraph.Value { return &v }

func TestWriteGolden(t *testing.T) {
	slower := sample(t)
	slower.Threads[0].Root.Children[0].Children[0].Total[callgraph.Wall] += 40 * ms // fib's own time
	slower.Threads[0].Root.Children[0].Total[callgraph.Wall] += 40 * ms
	tests := []struct {
		golden string
		p      *callgraph.Profile
		opts   Options
	}{
		{"default", sample(t), Options{}},
		{"single-thread", singleThread(t), Options{}},
		{"inverted", singleThread(t), Options{Inverted: true}},
		{"minwidth-100", sample(t), Options{MinWidth: 100}},
		{"value-calls", sample(t), Options{Value: val(callgraph.Calls)}},
		{"title-width-400", singleThread(t), Options{Title: "<my> & \"graph\"", Width: 400}},
		{"maxdepth-10", deep(t), Options{MaxDepth: 10}},
		{"diff", slower, Options{Diff: &DiffInfo{Base: sample(t)}}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			if err := Write(&out, tt.p, tt.opts); err != nil {
				t.Fatal(err)
			}
			checkDocument(t, out.Bytes())
			// The script is pinned by the browser tests; leaving it out keeps
			// the goldens about the picture and its data.
			got := bytes.Replace(out.Bytes(), []byte(script), []byte("/* flamegraph.js */"), 1)
			golden.Check(t, filepath.Join("testdata", tt.golden+".svg"), got)
		})
	}
}

// document is the part of the SVG the checks read back.
type document struct {
	Rects []struct {
		Width float64 `xml:"width,attr"`
	} `xml:"g>rect"`
	Labels []string `xml:"g>text"`
	Data   []struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"script"`
}

// checkDocument parses the SVG back: it must be well-formed XML, its data
// block must describe exactly its rects, and every label must fit its box.
func checkDocument(t *testing.T, svg []byte) {
	t.Helper()
	var doc document
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("the SVG is not well-formed: %v", err)
	}
	var d graphData
	for _, s := range doc.Data {
		if s.ID == "pyprof-data" {
			if err := json.Unmarshal([]byte(s.Text), &d); err != nil {
				t.Fatalf("data block: %v", err)
			}
		}
	}
	if len(d.Func) != len(doc.Rects) || len(d.Labelled) != len(doc.Labels) {
		t.Fatalf("data describes %d frames and %d labels, the SVG has %d and %d",
			len(d.Func), len(d.Labelled), len(doc.Rects), len(doc.Labels))
	}
	for i, text := range doc.Labels {
		w := doc.Rects[d.Labelled[i]].Width
		if n := len([]rune(text)); float64(n)*charWidth+6 > w+0.01 {
			t.Errorf("label %q (%d chars) overflows its %.2f px box", text, n, w)
		}
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name string
		p    *callgraph.Profile
		want string // the merged tree, as name:total[:calls] in pre-order
	}{
		{
			name: "calls from different lines merge; one thread has no thread level",
			p:    singleThread(t),
			want: "all:100000000 app.main:100000000 app.other:10000000 app.work:90000000",
		},
		{
			name: "threads get a level each and are not blended",
			p:    sample(t),
			want: "all:304000000 MainThread:210000000 app.main:210000000 app.<lambda>:121000000 " +
				"a&b<c>\"d\":120000000 builtins.len:1000000 app.fib:80000000 app.fib:50000000 builtins.len:7000000 " +
				"worker-1:94000000 [lost events]:4000000 app.main:90000000 builtins.len:90000000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := merge(tt.p, callgraph.Wall, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := dump(root); got != tt.want {
				t.Errorf("merged tree\ngot:  %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func dump(f *frame) string {
	parts := []string{f.name + ":" + strconv.FormatInt(f.cur.total, 10)}
	for _, c := range f.children {
		parts = append(parts, dump(c))
	}
	return strings.Join(parts, " ")
}

func TestMaxDepthCutsLikeTheOtherFormats(t *testing.T) {
	root, err := merge(deep(t), callgraph.Wall, Options{MaxDepth: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, depth := layout(root, 1, 0)
	if depth != 11 { // the marker and the 10 innermost frames
		t.Errorf("depth %d, want 11", depth)
	}
	// Only the leaf has time: its path is the cut marker and the 10 inner
	// frames.
	var weighed []string
	for _, c := range root.children {
		if c.cur.total > 0 {
			weighed = append(weighed, c.name)
		}
	}
	if want := export.CutMarkerName(10); len(weighed) != 1 || weighed[0] != want {
		t.Errorf("weighed top frames %q, want only %q", weighed, want)
	}
}

func TestLayoutDropsNarrowFrames(t *testing.T) {
	root, err := merge(singleThread(t), callgraph.Wall, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		minWidth float64
		want     []string
	}{
		{"all fit", 1, []string{"all", "app.main", "app.other", "app.work"}},
		{"other is 10% of 100 px", 11, []string{"all", "app.main", "app.work"}},
		{"root always drawn", 1000, []string{"all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			boxes, _ := layout(root, 100/float64(root.cur.total), tt.minWidth)
			var got []string
			for _, b := range boxes {
				got = append(got, b.fr.name)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("drawn %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		width float64
		want  string
	}{
		{"fits", "app.main", 6 + 8*charWidth, "app.main"},
		{"cut from the left, keeping the function", "json.encoder.JSONEncoder.encode", 6 + 20*charWidth, "..JSONEncoder.encode"},
		{"too narrow", "app.main", 6 + 2.9*charWidth, ""},
		{"cut before escaping", "a<b>&c", 6 + 4*charWidth, "..&c"},
		{"whole code points", "функция", 6 + 5*charWidth, "..ция"},
		{"cut moved on to a dot", "concurrent.futures._base.Executor.map", 6 + 17*charWidth, "..Executor.map"},
		{"no dot left to move to", "app.process_everything", 6 + 10*charWidth, "..erything"},
		{"an import keeps its prefix", "import json.decoder.scanner", 6 + 22*charWidth, "import ..scanner"},
		{"an import too narrow for its prefix", "import json.decoder", 6 + 10*charWidth, "..decoder"},
		{"a short import too narrow for its prefix", "import typing", 6 + 9*charWidth, "typing"},
		{"imports of a group keep theirs", "imports: xml.etree.ElementTree", 6 + 25*charWidth, "imports: ..ElementTree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fit(tt.text, tt.width); got != tt.want {
				t.Errorf("fit(%q, %.1f) = %q, want %q", tt.text, tt.width, got, tt.want)
			}
		})
	}
}

func TestFill(t *testing.T) {
	tests := []struct {
		name string
		f    frame
		diff bool
		want string
	}{
		{"python is warm", frame{name: "app.main", kind: kindPython}, false, "#dc241e"},
		{"same name same colour", frame{name: "app.main", kind: kindPython, file: "other.py"}, false, "#dc241e"},
		{"native is cool", frame{name: "builtins.len", kind: kindNative}, false, "#5aaecd"},
		{"marker", frame{name: "[lost events]", kind: kindMarker}, false, "#b9ace8"},
		{"unchanged", frame{kind: kindPython, cur: amounts{total: 5}, base: amounts{total: 5}}, true, "#e1e1e1"},
		{"doubled is full red", frame{kind: kindPython, cur: amounts{total: 10}, base: amounts{total: 5}}, true, "#e12d2d"},
		{"new is full red", frame{kind: kindPython, cur: amounts{total: 10}}, true, "#e12d2d"},
		{"halved is full blue", frame{kind: kindPython, cur: amounts{total: 5}, base: amounts{total: 10}}, true, "#2d69e1"},
		{"a third slower", frame{kind: kindPython, cur: amounts{total: 4}, base: amounts{total: 3}}, true, "#e19696"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fill(&tt.f, tt.diff, false); got != tt.want {
				t.Errorf("fill = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unmeasured value", Options{Value: val(callgraph.CPU)}, "flamegraph: profile has no cpu values"},
		{"diff without base", Options{Diff: &DiffInfo{}}, "flamegraph: diff without a base profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, sample(t), tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestAssetsFitCDATA guards the inline script and style: "]]>" in them
// would end their CDATA section and break the document.
func TestAssetsFitCDATA(t *testing.T) {
	for name, text := range map[string]string{"flamegraph.js": script, "flamegraph.css": style} {
		if strings.Contains(text, "]]>") {
			t.Errorf("%s contains \"]]>\"", name)
		}
	}
}

func TestEmptyProfile(t *testing.T) {
	var out bytes.Buffer
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Wall}, Default: callgraph.Wall}
	if err := Write(&out, p, Options{}); err != nil {
		t.Fatal(err)
	}
	checkDocument(t, out.Bytes())
}
