package flamegraph

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
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
			if got := describe(p); got != tt.want {
				t.Errorf("title %q, want %q", got, tt.want)
			}
			svg := write(t, p, Options{Width: 1600})
			if !strings.Contains(svg, `<text id="title" class="title" x="800.00" y="24">`+xmlText(tt.want)+`</text>`) {
				t.Errorf("the SVG does not carry the title %q", tt.want)
			}
		})
	}
}

// TestExplainsItself checks what the picture says without its script: a
// subtitle with the sample type and total, a legend of the colours (red and
// blue on a diff), a <title> on every frame, a fluid width and labels cut
// from the left.
func TestExplainsItself(t *testing.T) {
	p := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Add(t, "MainThread", "app.main;json.encoder.JSONEncoder.encode", 3, 90*ms).
		Add(t, "MainThread", "app.main;import json", 1, 10*ms).
		Add(t, "MainThread", "app.main;lock.acquire", 2, 100*ms).Profile
	p.Funcs[len(p.Funcs)-1].Kind = callgraph.KindNative
	svg := write(t, p, Options{Width: 400})
	for _, want := range []string{
		`<text id="subtitle" class="sub" x="200.00" y="44">wall, total 200ms</text>`,
		`>Python</text>`, `>native</text>`, `>import</text>`, `>idle (waiting)</text>`, `>pyprof marker</text>`,
		`<title>json.encoder.JSONEncoder.encode | app.py:1 | calls 3 | self 90.0ms (45.00%) | total 90.0ms (45.00%)</title>`,
		`width="100%" viewBox="0 0 400 `,
		`>..r.JSONEncoder.encode</text>`,
		`<foreignObject id="searchbox" visibility="hidden" `, // shown by the script
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %s", want)
		}
	}
	if !regexp.MustCompile(`<rect [^>]*fill="#[0-9a-f]+"><title>lock.acquire `).MatchString(svg) {
		t.Errorf("lock.acquire has no <title>")
	}
	diff := write(t, p, Options{Diff: &DiffInfo{Base: p}})
	for _, want := range []string{`>slower (or new)</text>`, `>faster</text>`, `>unchanged</text>`} {
		if !strings.Contains(diff, want) {
			t.Errorf("the diff's legend lacks %s", want)
		}
	}
}

// TestImportsAndIdleHaveTheirColours checks that the legend's colours are
// the frames': imports green, waiting grey.
func TestImportsAndIdleHaveTheirColours(t *testing.T) {
	tests := []struct {
		name string
		fr   frame
		want func(r, g, b int) bool
	}{
		{"import", frame{name: "import json", kind: kindPython}, func(r, g, b int) bool { return g > r && g > b }},
		{"idle", frame{name: "lock.acquire", kind: kindNative}, func(r, g, b int) bool { return b-r < 30 && r > 180 }},
		{"python", frame{name: "app.main", kind: kindPython}, func(r, g, b int) bool { return r > g && r > b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fill(&tt.fr, false)
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
