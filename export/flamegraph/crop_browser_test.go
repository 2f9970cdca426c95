package flamegraph

import (
	"math"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// cropState is where the topmost shown frame sits, in picture units, and
// how tall the picture is.
type cropState struct {
	TopY, Height float64
}

const cropScript = `
var R = document.getElementById("frames").children, g = document.getElementById("frames");
var m = /translate\(0,(-?[0-9.]+)\)/.exec(g.getAttribute("transform") || "");
var dy = m ? parseFloat(m[1]) : 0, top = Infinity;
for (var i = 0; i < R.length; i++) {
  if (R[i].getAttribute("display") === "none") continue;
  top = Math.min(top, parseFloat(R[i].getAttribute("y")) + dy);
}
return {TopY: top, Height: parseFloat(document.documentElement.getAttribute("viewBox").split(" ")[3])};`

// TestBrowserZoomCrops checks that zooming into a shallow frame leaves no
// empty rows above it: the deepest shown frame moves to the head, the
// picture gets shorter, and Reset brings the whole back.
func TestBrowserZoomCrops(t *testing.T) {
	svg := writeSVGFile(t, sample(t), Options{}) // leaves at several depths
	b := startBrowser(t)
	b.open(svg)
	var before cropState
	b.run(&before, cropScript)
	if math.Abs(before.TopY-headHeight) > 0.01 {
		t.Fatalf("before zooming the top frame is at y=%v, want the head's %d", before.TopY, headHeight)
	}
	// The deepest leaf: zooming into it shows it and its ancestors only.
	var leaf int
	b.run(&leaf, `var D = JSON.parse(document.getElementById("pyprof-data").textContent), best = 0, bd = -1;
for (var i = 1; i < D.p.length; i++) { var d = 0; for (var a = i; a > 0; a = D.p[a]) d++; if (D.p.indexOf(i) < 0 && (bd < 0 || d < bd)) { bd = d; best = i; } }
return best;`)
	b.click(b.find(selectorOf(leaf)))
	var zoomed cropState
	b.run(&zoomed, cropScript)
	if math.Abs(zoomed.TopY-headHeight) > 0.01 || zoomed.Height >= before.Height {
		t.Errorf("zoomed: top frame at y=%v, height %v; want the head's %d and shorter than %v", zoomed.TopY, zoomed.Height, headHeight, before.Height)
	}
	b.click(b.find("#reset"))
	var reset cropState
	b.run(&reset, cropScript)
	if reset != before {
		t.Errorf("after reset %+v, want %+v", reset, before)
	}
}

// TestBrowserShowsSearchBox checks that the script shows the search box
// the file hides for viewers that run no script.
func TestBrowserShowsSearchBox(t *testing.T) {
	b := startBrowser(t)
	b.open(writeSVGFile(t, sample(t), Options{}))
	var visibility string
	b.run(&visibility, `return document.getElementById("searchbox").getAttribute("visibility");`)
	if visibility != "visible" {
		t.Errorf("search box visibility %q after the script ran, want visible", visibility)
	}
}

// TestBrowserDeepGraphKeepsItsScale opens a graph taller than the window:
// the browser must draw it at the scale its width gives and let the window
// scroll, not shrink it to the window's height, where a 150-frame stack's
// labels are a few pixels high.
func TestBrowserDeepGraphKeepsItsScale(t *testing.T) {
	p, err := export.ReadFolded(strings.NewReader(exporttest.DeepFolded(150)), callgraph.Samples)
	if err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t)
	b.open(writeSVGFile(t, p, Options{}))
	var got struct{ Scale, Want, Page, View float64 }
	b.run(&got, `var box = document.getElementById("frames").children[0];
var vb = document.documentElement.getAttribute("viewBox").split(" ").map(Number);
return {Scale: box.getBoundingClientRect().height / parseFloat(box.getAttribute("height")),
  Want: window.innerWidth / vb[2],
  Page: document.documentElement.getBoundingClientRect().height, View: window.innerHeight};`)
	if math.Abs(got.Scale-got.Want) > 0.02*got.Want {
		t.Errorf("frames drawn at %.3fx, want the width's scale %.3fx", got.Scale, got.Want)
	}
	if got.Page <= got.View {
		t.Errorf("the picture is %.0f px tall in a %.0f px window: a 150-frame graph should scroll", got.Page, got.View)
	}
}
