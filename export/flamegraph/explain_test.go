package flamegraph

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// TestTitleFromComments checks the default title: the program, mode,
// Python and date the profile's comments and start time give.
func TestTitleFromComments(t *testing.T) {
	start := time.Date(2026, 12, 2, 11, 30, 0, 0, time.UTC)
	tests := []struct {
		name     string
		comments []string
		start    time.Time
		want     string
	}{
		{"everything", []string{"pyprof 0.1.0, trace mode", "command: /usr/bin/python3.12 app.py --fast", "python: 3.12.1 (/usr/bin/python3.12)"}, start,
			"python3.12 app.py --fast (trace mode, Python 3.12.1, 2026-12-02 11:30)"},
		{"no command", []string{"pyprof 0.1.0, sample mode, attached to pid 42"}, time.Time{},
			"Flame Graph (sample mode, attached to pid 42)"},
		{"another tool's profile", nil, time.Time{}, DefaultTitle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := singleThread(t)
			p.Comments, p.Start = tt.comments, tt.start
			if got := describe(p, titleRoom(1600)); got != tt.want {
				t.Errorf("title %q, want %q", got, tt.want)
			}
			svg := write(t, p, Options{Width: 1600})
			if !strings.Contains(svg, `<text id="title" class="title" x="800.00" y="24">`+xmlText(tt.want)+`</text>`) {
				t.Errorf("the SVG does not carry the title %q", tt.want)
			}
		})
	}
}

// TestTitleFitsTheWidth: a title too long for the picture's width leaves
// out the date, then the mode, which the profile's comments keep, before
// it is cut.
func TestTitleFitsTheWidth(t *testing.T) {
	p := singleThread(t)
	p.Comments = []string{"pyprof 0.1.0, trace mode", "command: /usr/bin/python3.12 progs/crawler.py", "python: 3.12.1 (/usr/bin/python3.12)"}
	p.Start = time.Date(2026, 12, 2, 11, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		room int
		want string
	}{
		{100, "python3.12 progs/crawler.py (trace mode, Python 3.12.1, 2026-12-02 11:30)"},
		{60, "python3.12 progs/crawler.py (trace mode, Python 3.12.1)"},
		{45, "python3.12 progs/crawler.py (Python 3.12.1)"},
	} {
		if got := describe(p, tt.room); got != tt.want {
			t.Errorf("room %d: title %q, want %q", tt.room, got, tt.want)
		}
	}
	svg := write(t, p, Options{})
	if !strings.Contains(svg, ">python3.12 progs/crawler.py (trace mode, Python 3.12.1)</text>") {
		t.Errorf("at the default width the title is not the one without the date")
	}
}

// TestExplainsItself checks what the picture says without its script: a
// subtitle with the sample type and total, a legend of the colours of the
// kinds of frame drawn (red and blue steps on a diff), a <title> on every
// frame, a fluid width and labels cut from the left.
func TestExplainsItself(t *testing.T) {
	p := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Add(t, "MainThread", "app.main;json.encoder.JSONEncoder.encode", 3, 90*ms).
		Add(t, "MainThread", "app.main;import json", 1, 10*ms).
		Add(t, "MainThread", "app.main;lock.acquire", 2, 100*ms).Profile
	p.Funcs[len(p.Funcs)-1].Kind = callgraph.KindNative
	svg := write(t, p, Options{Width: 400})
	for _, want := range []string{
		`<text id="subtitle" class="sub" x="200.00" y="44">wall, total 200ms</text>`,
		`>Python</text>`, `>import</text>`, `>waiting the program asked for (in the total)</text>`,
		`<title>json.encoder.JSONEncoder.encode | app.py:1 | calls 3 | self 90.0ms (45.00%) | total 90.0ms (45.00%)</title>`,
		`width="100%" viewBox="0 0 400 `,
		`>..JSONEncoder.encode</text>`,
		`<foreignObject id="searchbox" visibility="hidden" `, // shown by the script
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %s", want)
		}
	}
	for _, absent := range []string{`>native</text>`, `>pyprof marker</text>`, `>idle (apart from the total)</text>`} {
		if strings.Contains(svg, absent) {
			t.Errorf("the legend names a kind of frame the graph does not have: %s", absent)
		}
	}
	if !regexp.MustCompile(`<rect [^>]*fill="#[0-9a-f]+"><title>lock.acquire `).MatchString(svg) {
		t.Errorf("lock.acquire has no <title>")
	}
	diff := write(t, p, Options{Diff: &DiffInfo{Base: p}})
	for _, want := range []string{`>slower:</text>`, `>×2 or new</text>`, `>faster:</text>`, `>halved</text>`, `>unchanged</text>`} {
		if !strings.Contains(diff, want) {
			t.Errorf("the diff's legend lacks %s", want)
		}
	}
}

// TestImportsAndWaitingHaveTheirColours checks the colours of the kinds
// of frame: imports green, calls that wait taupe, Python warm.
func TestImportsAndWaitingHaveTheirColours(t *testing.T) {
	tests := []struct {
		name string
		fr   frame
		want func(r, g, b int) bool
	}{
		{"import", frame{name: "import json", kind: kindPython}, func(r, g, b int) bool { return g > r && g > b }},
		{"waiting", frame{name: "lock.acquire", kind: kindNative}, func(r, g, b int) bool { return r > g && g > b && r-b < 60 }},
		{"python", frame{name: "app.main", kind: kindPython}, func(r, g, b int) bool { return r > g && r > b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fill(&tt.fr, false, false)
			var r, g, b int
			if _, err := fmtSscanf(c, &r, &g, &b); err != nil {
				t.Fatalf("colour %q: %v", c, err)
			}
			if !tt.want(r, g, b) {
				t.Errorf("%s is %s", tt.fr.name, c)
			}
		})
	}
}

// TestLegendIsTheFramesColours draws an event loop's profile as record
// does, its idle waiting in an [idle: …] frame, with a call that sleeps
// and a marker: each frame's colour is nearest the legend's sample of its
// kind (the idle frame's, and those of the calls it holds, are that
// sample), the idle frame does not take the markers' colour, the legend
// says what the waiting's colour means for the total, and lists only the
// kinds drawn.
func TestLegendIsTheFramesColours(t *testing.T) {
	f := exporttest.NewFixture(callgraph.Calls, callgraph.Wall)
	f.Profile = eventLoop(t)
	p := f.Fn("[lost 3 events]", "", 0, callgraph.KindMarker).Add(t, "MainThread", "[lost 3 events]", 3, 5*ms).
		Fn("builtins.len", "", 0, callgraph.KindNative).Add(t, "MainThread", "__main__.<module>;builtins.len", 3, 5*ms).Profile
	var out bytes.Buffer
	if err := export.WriterFor(export.SVG)(&out, p, export.Options{}); err != nil {
		t.Fatal(err)
	}
	svg := out.String()
	legendSVG := regexp.MustCompile(`(?s)<svg id="legend">.*?</svg>`).FindString(svg)
	sample := map[string]string{} // legend text -> fill
	for _, m := range regexp.MustCompile(`<rect [^>]*fill="([^"]+)"/><text [^>]*>([^<]*)</text>`).FindAllStringSubmatch(legendSVG, -1) {
		sample[html.UnescapeString(m[2])] = m[1]
	}
	want := []string{"Python", "native", "waiting the program asked for (in the total)", "idle (apart from the total)", "pyprof marker"}
	if len(sample) != len(want) {
		t.Errorf("the legend lists %v, want %q", sample, want)
	}
	frames := map[string]string{} // frame name -> fill
	for _, m := range regexp.MustCompile(`<rect [^>]*fill="([^"]+)"><title>([^|<]*)`).FindAllStringSubmatch(svg, -1) {
		frames[strings.TrimSpace(html.UnescapeString(m[2]))] = m[1]
	}
	tests := []struct {
		name, frame, legend string
	}{
		{"the idle frame is the legend's idle", "[idle: event loop waiting for I/O or timers]", "idle (apart from the total)"},
		{"a sleep is the legend's waiting", "time.sleep", "waiting the program asked for (in the total)"},
		{"a marker is the legend's marker", "[lost 3 events]", "pyprof marker"},
		{"python", "__main__.crawl", "Python"},
		{"native", "builtins.len", "native"},
		{"a call made while idle is idle", "select.epoll.poll", "idle (apart from the total)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := frames[tt.frame]
			if !ok {
				t.Fatalf("no frame %s among %v", tt.frame, frames)
			}
			if near := nearestSample(t, got, sample); near != tt.legend {
				t.Errorf("%s is drawn %s, nearest the legend's %q, want %q (%s)", tt.frame, got, near, tt.legend, sample[tt.legend])
			}
		})
	}
}

// nearestSample returns the legend text whose sample colour is nearest
// fill: the one with the same fill when fill is no plain colour.
func nearestSample(t *testing.T, fill string, sample map[string]string) string {
	t.Helper()
	var r, g, b int
	if _, err := fmtSscanf(fill, &r, &g, &b); err != nil {
		for text, s := range sample {
			if s == fill {
				return text
			}
		}
		return ""
	}
	best, bestDist := "", math.MaxInt
	for text, s := range sample {
		var sr, sg, sb int
		if _, err := fmtSscanf(s, &sr, &sg, &sb); err != nil {
			continue
		}
		if d := (r-sr)*(r-sr) + (g-sg)*(g-sg) + (b-sb)*(b-sb); d < bestDist {
			best, bestDist = text, d
		}
	}
	return best
}

func write(t *testing.T, p *callgraph.Profile, opts Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, p, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func fmtSscanf(c string, r, g, b *int) (int, error) { return fmt.Sscanf(c, "#%02x%02x%02x", r, g, b) }

// TestLongTitleLeavesTheSearchBox checks that a title too long for the
// space between the controls is cut rather than run under the search box.
func TestLongTitleLeavesTheSearchBox(t *testing.T) {
	long := strings.Repeat("x", 200)
	svg := write(t, singleThread(t), Options{Title: long})
	want := strings.Repeat("x", titleRoom(DefaultWidth)-1) + "…</text>"
	if !strings.Contains(svg, want) || titleRoom(DefaultWidth) >= 100 {
		t.Errorf("a title of 200 characters was not cut to %d", titleRoom(DefaultWidth))
	}
}
