package diff

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/flamegraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
	"github.com/pyprof/pyprof/export/view"
)

// drawn is a frame of a differential flame graph as its SVG holds it.
type drawn struct {
	name        string
	fill        string
	total, base int64
}

// graphOf writes the differential flame graph of base and new and reads
// back its frames, by function name (the first frame of each name), and
// the data block the script reads.
func graphOf(t *testing.T, base, new *callgraph.Profile, opts flamegraph.Options) (map[string]drawn, map[string]json.RawMessage) {
	t.Helper()
	var out bytes.Buffer
	if err := FlameGraph(&out, base, new, opts); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rects []struct {
			Fill string `xml:"fill,attr"`
		} `xml:"g>rect"`
		Scripts []struct {
			ID   string `xml:"id,attr"`
			Text string `xml:",chardata"`
		} `xml:"script"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("the graph is not well-formed: %v", err)
	}
	var data []byte
	for _, s := range doc.Scripts {
		if s.ID == "pyprof-data" {
			data = []byte(s.Text)
		}
	}
	var raw map[string]json.RawMessage
	var d struct {
		Names     []string `json:"names"`
		Func      []int    `json:"f"`
		Total     []int64  `json:"t"`
		BaseTotal []int64  `json:"bt"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("data block: %v", err)
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("data block: %v", err)
	}
	if len(d.Func) != len(doc.Rects) || len(d.BaseTotal) != len(doc.Rects) {
		t.Fatalf("data describes %d frames (%d base totals), the SVG has %d", len(d.Func), len(d.BaseTotal), len(doc.Rects))
	}
	frames := map[string]drawn{}
	for i, f := range d.Func {
		name := d.Names[f]
		if _, ok := frames[name]; !ok {
			frames[name] = drawn{name: name, fill: doc.Rects[i].Fill, total: d.Total[i], base: d.BaseTotal[i]}
		}
	}
	return frames, raw
}

// checkout is a run of a program from a checkout at dir: main calls parse,
// render and the native str; render's and parse's times are given.
func checkout(t *testing.T, dir string, parse, render int64) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("__main__.main", dir+"/app.py", 12, callgraph.KindPython).
		Fn("__main__.parse", dir+"/app.py", 3, callgraph.KindPython).
		Fn("__main__.render", dir+"/app.py", 9, callgraph.KindPython).
		Fn("__main__.format", dir+"/app.py", 20, callgraph.KindPython).
		Fn("builtins.str", "", 0, callgraph.KindNative).
		Add(t, "MainThread", "__main__.main", 1, 10*ms).
		Add(t, "MainThread", "__main__.main@13;__main__.parse", 20, parse).
		Add(t, "MainThread", "__main__.main@14;__main__.render", 20, render).
		Add(t, "MainThread", "__main__.main@15;__main__.format", 20, 30*ms).
		Add(t, "MainThread", "__main__.main@16;builtins.str", 100, 5*ms).Profile
}

// TestFlameGraphPairsFunctionsAsTheTextDoes compares a base recorded from
// ../base/app.py with a new run from ./app.py: each frame is compared with
// the function the text summary pairs it with, so that what did not change
// is not drawn as new, and each frame's colour is as strong as its change.
func TestFlameGraphPairsFunctionsAsTheTextDoes(t *testing.T) {
	base := checkout(t, "/ci/base", 100*ms, 50*ms)
	head := checkout(t, "/ci/head", 101*ms, 100*ms) // parse +1%, render doubled
	r := compare(t, base, head, callgraph.Wall)
	frames, _ := graphOf(t, base, head, flamegraph.Options{})
	for _, f := range r.Funcs {
		fr, ok := frames[f.Func.Name]
		if !ok {
			t.Errorf("%s is not drawn", f.Func.Name)
			continue
		}
		if fr.base != f.Base.Cum || fr.total != f.New.Cum {
			t.Errorf("%s's frame compares %d → %d, the text %d → %d", f.Func.Name, fr.base, fr.total, f.Base.Cum, f.New.Cum)
		}
	}
	tests := []struct {
		name     string
		frame    string
		min, max int // how far the colour is from grey: red minus blue
	}{
		{"unchanged is grey", "__main__.format", 0, 0},
		{"a 1% change is faint", "__main__.parse", 1, 8},
		{"a doubling is strong", "__main__.render", 150, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fill := frames[tt.frame].fill
			var red, green, blue int
			if _, err := fmt.Sscanf(fill, "#%02x%02x%02x", &red, &green, &blue); err != nil {
				t.Fatalf("%s's fill %q: %v", tt.frame, fill, err)
			}
			if d := red - blue; d < tt.min || d > tt.max {
				t.Errorf("%s is %s, red minus blue %d; want %d to %d", tt.frame, fill, d, tt.min, tt.max)
			}
		})
	}
}

// loopRun is an asyncio program whose event loop waited idle for wait and
// whose task crawled for crawl, its idle waiting put apart as diff puts it.
func loopRun(t *testing.T, wait, crawl int64) *callgraph.Profile {
	t.Helper()
	const loop = "__main__.<module>;asyncio.base_events.BaseEventLoop._run_once"
	return view.FoldIdle(exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("selectors.EpollSelector.select", "selectors.py", 451, callgraph.KindPython).
		Add(t, "MainThread", loop, 40, 2*ms).
		Add(t, "MainThread", loop+";selectors.EpollSelector.select", 40, wait).
		Add(t, "MainThread", loop+";asyncio.events.Handle._run;__main__.crawl", 20, crawl).Profile)
}

// TestFlameGraphTotalsAreTheText checks that the differential flame graph
// shows the totals of the text summary for the same two profiles, in the
// same words, with the idle waiting it draws named apart.
func TestFlameGraphTotalsAreTheText(t *testing.T) {
	tests := []struct {
		name      string
		base, new *callgraph.Profile
		value     callgraph.Value
	}{
		{"wall, idle apart", loopRun(t, 80*ms, 100*ms), loopRun(t, 20*ms, 130*ms), callgraph.Wall},
		{"calls", loopRun(t, 80*ms, 100*ms), loopRun(t, 20*ms, 130*ms), callgraph.Calls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := compare(t, tt.base, tt.new, tt.value)
			var text bytes.Buffer
			if err := r.WriteText(&text, 0); err != nil {
				t.Fatal(err)
			}
			totals, _, _ := strings.Cut(text.String(), ";")
			_, data := graphOf(t, tt.base, tt.new, flamegraph.Options{Value: &tt.value})
			var sum, baseSum int64
			if err := errors.Join(json.Unmarshal(data["sum"], &sum), json.Unmarshal(data["baseSum"], &baseSum)); err != nil {
				t.Fatal(err)
			}
			if baseSum != r.Base || sum != r.New {
				t.Errorf("the graph's totals %d → %d, the text's %d → %d", baseSum, sum, r.Base, r.New)
			}
			sub := subtitleOf(t, tt.base, tt.new, flamegraph.Options{Value: &tt.value})
			if !strings.HasPrefix(sub, totals+",") && !strings.HasPrefix(sub, totals+";") && sub != totals {
				t.Errorf("subtitle %q does not begin with the text's totals %q", sub, totals)
			}
		})
	}
}

// subtitleOf returns the subtitle of the differential flame graph.
func subtitleOf(t *testing.T, base, new *callgraph.Profile, opts flamegraph.Options) string {
	t.Helper()
	var out bytes.Buffer
	if err := FlameGraph(&out, base, new, opts); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<text id="subtitle"[^>]*>([^<]*)</text>`).FindSubmatch(out.Bytes())
	if m == nil {
		t.Fatal("the graph has no subtitle")
	}
	return html.UnescapeString(string(m[1]))
}
