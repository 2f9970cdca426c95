package flamegraph

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/export/view"
)

// These tests run only where Chromium and chromedriver are installed (CI
// installs the Debian packages chromium and chromium-driver); elsewhere they
// skip and say why.

// writeSVGFile writes p's flame graph into a fresh directory.
func writeSVGFile(t testing.TB, p *callgraph.Profile, opts Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "graph.svg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, p, opts); err != nil {
		t.Fatal(err)
	}
	return path
}

// frameState is what the page shows of one frame and of the whole.
type frameState struct {
	X, Width float64
	Hidden   int    // frames not displayed
	Reset    string // class of the reset control
	Lit      int    // frames painted as search matches
	Matched  string
	Details  string
	Active   string // id of the focused element
}

const stateScript = `
var r = document.getElementById("frames").children[arguments[0]];
var all = document.querySelectorAll("#frames rect");
var hidden = 0, lit = 0;
for (var i = 0; i < all.length; i++) {
  if (all[i].getAttribute("display") === "none") hidden++;
  if (all[i].getAttribute("fill") === "#e040e0") lit++;
}
return {
  X: parseFloat(r.getAttribute("x")), Width: parseFloat(r.getAttribute("width")),
  Hidden: hidden, Reset: document.getElementById("reset").getAttribute("class"), Lit: lit,
  Matched: document.getElementById("matched").textContent,
  Details: document.getElementById("details").textContent,
  Active: document.activeElement ? document.activeElement.id : ""
};`

func (b *browser) state(frame int) frameState {
	b.t.Helper()
	var s frameState
	b.run(&s, stateScript, frame)
	return s
}

// target is a frame the test clicks: two levels below the root, wide enough
// to hit and narrow enough that zooming changes it.
type target struct {
	Index int
	Name  string
	Width float64
}

const pickScript = `
var D = JSON.parse(document.getElementById("pyprof-data").textContent);
var R = document.getElementById("frames").children;
for (var i = 1; i < R.length; i++) {
  var w = parseFloat(R[i].getAttribute("width")), p = D.p[i];
  if (p > 0 && D.p[p] > 0 && w >= 40 && w <= 400) return {Index: i, Name: D.names[D.f[i]], Width: w};
}
return null;`

func TestBrowserZoomSearchHover(t *testing.T) {
	svg := writeSVGFile(t, generate(3000, 7), Options{})
	b := startBrowser(t)
	b.open(svg)
	var tg *target
	b.run(&tg, pickScript)
	if tg == nil {
		t.Fatal("no frame between 40 and 400 px wide two levels below the root")
	}
	rect := b.find(selectorOf(tg.Index))

	b.hover(rect)
	if s := b.state(tg.Index); !strings.HasPrefix(s.Details, tg.Name+" | ") || !strings.Contains(s.Details, "total ") {
		t.Errorf("hover details = %q, want %s's details", s.Details, tg.Name)
	}

	b.click(rect)
	s := b.state(tg.Index)
	if math.Abs(s.Width-DefaultWidth+2*padX) > 0.01 || math.Abs(s.X-padX) > 0.01 {
		t.Errorf("after the click the frame spans x=%v width=%v, want x=%d width=%d", s.X, s.Width, padX, DefaultWidth-2*padX)
	}
	if s.Hidden == 0 || s.Reset != "btn" {
		t.Errorf("after the click %d frames are hidden and reset is %q; want some hidden and reset shown", s.Hidden, s.Reset)
	}

	b.chord("\uE009", "f") // Control-F
	if s := b.state(tg.Index); s.Active != "search" {
		t.Errorf("Ctrl-F focused %q, want the search box", s.Active)
	}
	b.typeInto(b.find("#search"), regexp.QuoteMeta(tg.Name)+"$")
	s = b.state(tg.Index)
	if s.Lit == 0 || !regexp.MustCompile(`^matched \S+ \(\d+\.\d\d% of total\)$`).MatchString(s.Matched) {
		t.Errorf("search lit %d frames, matched %q; want frames lit and the matched share", s.Lit, s.Matched)
	}

	b.click(b.find("#reset"))
	s = b.state(tg.Index)
	if math.Abs(s.Width-tg.Width) > 0.01 || s.Hidden != 0 || s.Reset != "btn off" {
		t.Errorf("after reset width=%v hidden=%d reset=%q, want width %v, none hidden, reset off", s.Width, s.Hidden, s.Reset, tg.Width)
	}
	if s.Lit == 0 {
		t.Error("reset cleared the search highlight; it should survive zooming")
	}
}

func selectorOf(i int) string { return "#frames > rect:nth-child(" + strconv.Itoa(i+1) + ")" }

// latency is what the page measured with performance.now().
type latency struct {
	Load    float64 // navigation start to the end of the load event
	Painted float64 // navigation start to the first frame painted after load
	Frames  int     // rects in the document
	Zoom    timing  // click on the widest frame two levels down
	Reset   timing  // click on "all"
	Search  timing  // typing a pattern
}

// timing separates the event handler from the time until the browser has
// painted the result: the handler's end plus the next animation frame.
type timing struct {
	Handler, Painted float64
}

// measureScript times a zoom, a reset and a search by dispatching the same
// events the user's actions raise, then waits for a painted frame after
// each. It ends by calling its last argument.
const measureScript = `
var done = arguments[arguments.length - 1];
var D = JSON.parse(document.getElementById("pyprof-data").textContent);
var R = document.getElementById("frames").children, input = document.getElementById("search");
var nav = performance.getEntriesByType("navigation")[0];
var out = {Load: nav.loadEventEnd - nav.startTime, Frames: R.length};
var widest = -1;
for (var i = 1; i < R.length; i++) {
  if (D.p[i] > 0 && D.p[D.p[i]] > 0 && (widest < 0 || D.t[i] > D.t[widest])) widest = i;
}
function timed(act, key, next) {
  var t0 = performance.now();
  act();
  var t1 = performance.now();
  requestAnimationFrame(function () {
    setTimeout(function () { out[key] = {Handler: t1 - t0, Painted: performance.now() - t0}; next(); }, 0);
  });
}
function click(el) { el.dispatchEvent(new MouseEvent("click", {bubbles: true})); }
requestAnimationFrame(function () {
  setTimeout(function () {
    out.Painted = performance.now();
    timed(function () { click(R[widest]); }, "Zoom", function () {
      timed(function () { click(R[0]); }, "Reset", function () {
        timed(function () { input.value = "func_1"; input.dispatchEvent(new Event("input")); }, "Search", function () { done(out); });
      });
    });
  }, 0);
});`

// BenchmarkBrowser100k loads a 100k-path profile in headless Chromium and
// reports, per load, how long the browser took to load and paint it and to
// answer a zoom, a reset and a search (handler and painted, milliseconds):
// the aim is under one second each at the default MinWidth. MinWidth 0.1
// (flamegraph.pl's default) keeps four times as many frames. These are
// measurements, not a test: a busy machine slows them by itself.
func BenchmarkBrowser100k(b *testing.B) {
	p := generate(100_000, 1)
	for _, bb := range []struct {
		name     string
		minWidth float64
	}{
		{"default-minwidth", 0},
		{"minwidth-0.1", 0.1},
	} {
		b.Run(bb.name, func(b *testing.B) {
			svg := writeSVGFile(b, p, Options{MinWidth: bb.minWidth})
			br := startBrowser(b)
			var sum latency
			n := 0
			for b.Loop() {
				br.open(svg)
				var l latency
				br.runAsync(&l, measureScript)
				sum = sum.add(l)
				n++
			}
			d := float64(n)
			b.ReportMetric(float64(sum.Frames)/d, "frames")
			b.ReportMetric(sum.Load/d, "load-ms")
			b.ReportMetric(sum.Painted/d, "painted-ms")
			b.ReportMetric(sum.Zoom.Painted/d, "zoom-ms")
			b.ReportMetric(sum.Reset.Painted/d, "reset-ms")
			b.ReportMetric(sum.Search.Painted/d, "search-ms")
		})
	}
}

// add sums two measurements, for averages.
func (l latency) add(m latency) latency {
	sum := func(a, b timing) timing { return timing{a.Handler + b.Handler, a.Painted + b.Painted} }
	return latency{
		Load: l.Load + m.Load, Painted: l.Painted + m.Painted, Frames: l.Frames + m.Frames,
		Zoom: sum(l.Zoom, m.Zoom), Reset: sum(l.Reset, m.Reset), Search: sum(l.Search, m.Search),
	}
}

func TestBrowserDiffHover(t *testing.T) {
	base := generate(3000, 7)
	slower := generate(3000, 7)
	// Double one entry frame's time in NEW, along its path.
	n := slower.Threads[0].Root.Children[0]
	slower.Threads[0].Root.Children[0].Walk(func(path []*callgraph.Node) {
		path[len(path)-1].Total[callgraph.Wall] *= 2
	})
	n.Total[callgraph.Wall] *= 2
	svg := writeSVGFile(t, slower, Options{Diff: &DiffInfo{Base: base}})
	b := startBrowser(t)
	b.open(svg)
	var tg *target
	b.run(&tg, pickScript)
	if tg == nil {
		t.Fatal("no frame to hover")
	}
	b.hover(b.find(selectorOf(tg.Index)))
	s := b.state(tg.Index)
	if !regexp.MustCompile(`\| total \S+ → \S+ \((new|[+-]\d+\.\d%|±0%)\) \| self `).MatchString(s.Details) {
		t.Errorf("hover details = %q, want base → new totals and selfs", s.Details)
	}
	if os.Getenv("PYPROF_SCREENSHOTS") != "" {
		b.screenshot(filepath.Join(os.Getenv("PYPROF_SCREENSHOTS"), "diff.png"))
	}
}

// TestBrowserIdleHover hovers an event loop's graph as record writes it:
// the [idle: …] frame shows no calls and says it is waiting apart from the
// total, "all" shows the report's total and the idle waiting beside it,
// and a search that matches only idle waiting says so instead of a share.
func TestBrowserIdleHover(t *testing.T) {
	p := eventLoop(t)
	path := filepath.Join(t.TempDir(), "graph.svg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := export.WriterFor(export.SVG)(f, p, export.Options{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tab, err := report.Functions(view.FoldIdle(p), callgraph.Wall, "")
	if err != nil || len(tab.Idle) != 1 {
		t.Fatalf("the report's table: %v, %d kinds of idle waiting", err, len(tab.Idle))
	}
	total, idle := report.Human(callgraph.Wall, tab.Total), report.Human(callgraph.Wall, tab.Idle[0].Value)
	b := startBrowser(t)
	b.open(path)
	var idleFrame int
	b.run(&idleFrame, `var D = JSON.parse(document.getElementById("pyprof-data").textContent);
for (var i = 0; i < D.f.length; i++) if (D.names[D.f[i]].indexOf("[idle: ") === 0) return i;
return -1;`)
	if idleFrame < 0 {
		t.Fatal("no [idle: …] frame drawn")
	}
	tests := []struct {
		name  string
		frame int
		want  string
	}{
		{"idle frame", idleFrame, tab.Idle[0].Name + " | idle waiting, not a function | total " + idle + " | apart from the total"},
		{"root", 0, "all | total " + total + " | idle apart " + idle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.hover(b.find(selectorOf(tt.frame)))
			if s := b.state(tt.frame); s.Details != tt.want {
				t.Errorf("hover details = %q, want %q", s.Details, tt.want)
			}
		})
	}
	b.typeInto(b.find("#search"), "select")
	if s, want := b.state(0), "matched "+idle+" idle, apart from the total"; s.Matched != want {
		t.Errorf("searching the idle waiting's calls matched %q, want %q", s.Matched, want)
	}
}

// shownLabel is a label as the page shows it, with its frame's name and
// width.
type shownLabel struct {
	Name, Text string
	Width      float64
}

const labelsScript = `
var D = JSON.parse(document.getElementById("pyprof-data").textContent);
var R = document.getElementById("frames").children;
var T = document.getElementById("labels").children, out = [];
for (var i = 0; i < T.length; i++) {
  var b = T[i].__fg;
  if (b === undefined || R[b].getAttribute("display") === "none") continue;
  out.push({Name: D.names[D.f[b]], Text: T[i].textContent, Width: parseFloat(R[b].getAttribute("width"))});
}
return out;`

// TestBrowserLabelsAsDrawn: the labels the script writes when zooming are
// the ones svg.go would draw at the new widths, import frames and dotted
// names cut alike.
func TestBrowserLabelsAsDrawn(t *testing.T) {
	p := generate(3000, 7)
	for i := range p.Funcs {
		if i%5 == 1 {
			p.Funcs[i].Name = view.ImportPrefix + strings.Repeat("pkgmodule.", 1+i%4) + p.Funcs[i].Name
		}
	}
	svg := writeSVGFile(t, p, Options{})
	b := startBrowser(t)
	b.open(svg)
	var tg *target
	b.run(&tg, pickScript)
	if tg == nil {
		t.Fatal("no frame between 40 and 400 px wide two levels below the root")
	}
	b.click(b.find(selectorOf(tg.Index)))
	var labels []shownLabel
	b.run(&labels, labelsScript)
	cut, imports := 0, 0
	for _, l := range labels {
		if want := fit(l.Name, l.Width); l.Text != want {
			t.Errorf("%q in %.2f px is labelled %q, want %q", l.Name, l.Width, l.Text, want)
		}
		if l.Text != "" && l.Text != l.Name {
			cut++
			if strings.HasPrefix(l.Text, view.ImportPrefix+"..") {
				imports++
			}
		}
	}
	if cut == 0 || imports == 0 {
		t.Errorf("after zooming %d labels are cut, %d of them imports keeping their prefix; the test needs both", cut, imports)
	}
}
