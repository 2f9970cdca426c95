package flamegraph

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/export/view"
)

//go:embed flamegraph.js
var script string

//go:embed flamegraph.css
var style string

// picture is everything writeSVG draws.
type picture struct {
	opts     Options
	value    callgraph.Value
	geo      *geometry
	boxes    []box
	lost     int64
	threads  int
	hasCalls bool
	title    string
	sides    string // on a diff, what the two sides are
	subtitle string
	// cur and base are the new profile's totals and the diff base's.
	cur, base sums
}

// idleApart reports whether the graph holds idle waiting apart from its
// total, in [idle: …] frames.
func (pic *picture) idleApart() bool { return pic.cur.idle > 0 || pic.base.idle > 0 }

// tooltip is the text a viewer shows over a frame when the script does
// not run (an <img>, a code host): name, place, calls, self and total, as
// the script's details line shows them. Frames pyprof made count no calls
// of their own; the idle waiting and what was called while waiting are
// said to be apart from the total, whose share they are not.
func (pic *picture) tooltip(f *frame, idle bool) string {
	v := pic.value
	parts := []string{f.name}
	if f.file != "" {
		loc := f.file
		if f.line > 0 {
			loc += ":" + strconv.Itoa(f.line)
		}
		parts = append(parts, loc)
	}
	r := roleOf(f)
	if r == roleRoot {
		return strings.Join(append(parts, pic.rootTotals()...), " | ")
	}
	if r == roleIdle && idle {
		parts = append(parts, "idle waiting, not a function")
	}
	if pic.opts.Diff != nil {
		parts = append(parts, "total "+report.Human(v, f.base.total)+" → "+report.Human(v, f.cur.total)+" ("+report.ChangePercent(f.base.total, f.cur.total)+")")
	} else {
		if pic.hasCalls && r == roleCode {
			parts = append(parts, "calls "+strconv.FormatInt(f.cur.calls, 10))
		}
		if r == roleCode {
			parts = append(parts, "self "+report.Human(v, f.cur.self)+pic.share(f.cur.self, idle))
		}
		parts = append(parts, "total "+report.Human(v, f.cur.total)+pic.share(f.cur.total, idle))
	}
	if idle {
		parts = append(parts, "apart from the total")
	}
	return strings.Join(parts, " | ")
}

// rootTotals is what the root says of the whole: the totals of the
// subtitle, and the idle waiting the root's width holds besides.
func (pic *picture) rootTotals() []string {
	v := pic.value
	if pic.opts.Diff != nil {
		out := []string{"total " + report.Human(v, pic.base.work) + " → " + report.Human(v, pic.cur.work) + " (" + report.ChangePercent(pic.base.work, pic.cur.work) + ")"}
		if pic.idleApart() {
			out = append(out, "idle apart "+report.Human(v, pic.base.idle)+" → "+report.Human(v, pic.cur.idle))
		}
		return out
	}
	out := []string{"total " + report.Human(v, pic.cur.work)}
	if pic.idleApart() {
		out = append(out, "idle apart "+report.Human(v, pic.cur.idle))
	}
	return out
}

// share is x's share of the total, " (12.50%)", or nothing for idle
// waiting, which the total leaves out.
func (pic *picture) share(x int64, idle bool) string {
	if idle {
		return ""
	}
	return " (" + share(x, pic.cur.work) + ")"
}

func share(x, whole int64) string {
	if whole <= 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(x)/float64(whole), 'f', 2, 64) + "%"
}

// writeSVG writes the document. Errors stick in w and surface at Flush.
func writeSVG(w *bufio.Writer, pic *picture) {
	g := pic.geo
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="100%%" viewBox="0 0 %.0f %.0f" data-width="%.0f" data-height="%.0f">
<style><![CDATA[%s]]></style>
%s
<rect class="bg" x="0" y="0" width="100%%" height="100%%"/>
`, g.width, g.height, g.width, g.height, style, patterns)
	writeControls(w, pic)
	writeFrames(w, pic)
	labelled := writeLabels(w, pic)
	writeData(w, pic, labelled)
	fmt.Fprintf(w, "<script type=\"text/ecmascript\"><![CDATA[%s]]></script>\n</svg>\n", script)
}

func writeControls(w *bufio.Writer, pic *picture) {
	g := pic.geo
	fmt.Fprintf(w, `<text id="title" class="title" x="%s" y="24">`, num(g.width/2))
	escape(w, shortenRight(pic.title, titleRoom(g.width)))
	w.WriteString("</text>\n")
	y := 44
	if pic.sides != "" {
		fmt.Fprintf(w, "<text id=\"sides\" class=\"sub\" x=\"%s\" y=\"%d\">%s</text>\n", num(g.width/2), y, xmlText(pic.sides))
		y += lineHeight
	}
	fmt.Fprintf(w, `<text id="subtitle" class="sub" x="%s" y="%d">%s</text>
<text id="reset" class="btn off" x="%d" y="24">Reset zoom</text>
<foreignObject id="searchbox" visibility="hidden" x="%s" y="8" width="260" height="26"><input xmlns="http://www.w3.org/1999/xhtml" id="search" type="search" placeholder="search regexp (Ctrl-F)"/></foreignObject>
<text id="matched" class="sub end" x="%s" y="%d"></text>
<text id="details" x="%d" y="%s"></text>
`, num(g.width/2), y, xmlText(pic.subtitle), padX, num(g.width-padX-260), num(g.width-padX), g.below(56), padX, num(g.height-10))
	writeLegend(w, pic)
}

// writeLegend says what the colours mean, on the left under the title.
func writeLegend(w *bufio.Writer, pic *picture) {
	x := float64(padX)
	box, text := pic.geo.below(48), pic.geo.below(57)
	// An svg of its own, not a g: readers of the picture take the g
	// elements for frames and labels.
	w.WriteString("<svg id=\"legend\">\n")
	for _, item := range legend(pic.boxes, pic.idleBoxes(), pic.opts.Diff != nil) {
		if item.fill != "" {
			fmt.Fprintf(w, "<rect x=\"%s\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>", num(x), box, item.fill)
			x += 13
		}
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%d\">", num(x), text)
		escape(w, item.text)
		w.WriteString("</text>\n")
		x += float64(len([]rune(item.text)))*charWidth + 14
	}
	w.WriteString("</svg>\n")
}

// xmlText returns s escaped as XML character data.
func xmlText(s string) string {
	var b strings.Builder
	escape(&b, s)
	return b.String()
}

// titleMinWidth is the narrowest frame, in pixels, that carries a <title>:
// narrower ones are hard to point at, and on large profiles they are most
// of the frames, whose titles would double the file and its loading time.
const titleMinWidth = 3

func writeFrames(w *bufio.Writer, pic *picture) {
	g := pic.geo
	diff := pic.opts.Diff != nil
	idle := pic.idleBoxes()
	w.WriteString("<g id=\"frames\">\n")
	for i, b := range pic.boxes {
		width := g.w(b.fr.cur.total)
		fmt.Fprintf(w, "<rect x=\"%s\" y=\"%d\" width=\"%s\" height=\"%d\" fill=\"%s\"",
			num(g.x(b.start)), g.y(b.depth), num(width), rectHeight, fill(b.fr, diff, idle[i]))
		if width < titleMinWidth {
			w.WriteString("/>\n")
			continue
		}
		w.WriteString("><title>")
		escape(w, pic.tooltip(b.fr, idle[i]))
		w.WriteString("</title></rect>\n")
	}
	w.WriteString("</g>\n")
}

// idleBoxes marks the boxes that hold idle waiting apart from the total:
// the [idle: …] frames and what was called in them.
func (pic *picture) idleBoxes() []bool {
	idle := make([]bool, len(pic.boxes))
	if !pic.idleApart() {
		return idle
	}
	for i, b := range pic.boxes {
		idle[i] = roleOf(b.fr) == roleIdle || (b.parent >= 0 && idle[b.parent])
	}
	return idle
}

// writeLabels writes the names that fit their box and returns the indexes
// of the boxes that got one, in document order, for the script.
func writeLabels(w *bufio.Writer, pic *picture) []int {
	g := pic.geo
	var labelled []int
	w.WriteString("<g id=\"labels\">\n")
	for i, b := range pic.boxes {
		text := fit(b.fr.name, g.w(b.fr.cur.total))
		if text == "" {
			continue
		}
		labelled = append(labelled, i)
		fmt.Fprintf(w, "<text x=\"%s\" y=\"%s\">", num(g.x(b.start)+3), num(float64(g.y(b.depth))+labelBaseline))
		escape(w, text)
		w.WriteString("</text>\n")
	}
	w.WriteString("</g>\n")
	return labelled
}

// fit shortens name to the characters that fit a box w pixels wide, or
// returns "" when fewer than labelMin fit. The front of the module path
// goes: the function's own name, at the end, is what tells frames apart.
// The cut falls on a dot where one is left ("..se.Executor.map" reads as
// another name), and an import frame keeps the words that say it is one
// ("import ..json.decoder"), as the report's names do, or, in a box too
// narrow for them, goes whole. It works on the raw
// name: cutting after escaping could split an entity. The script does the
// same when zooming.
func fit(name string, w float64) string {
	n := int((w - 6) / charWidth)
	if n < labelMin {
		return ""
	}
	r := []rune(name)
	if len(r) <= n {
		return name
	}
	for _, prefix := range []string{view.ImportPrefix, view.GroupPrefix} {
		rest, ok := strings.CutPrefix(name, prefix)
		switch body := []rune(rest); {
		case !ok:
		case n-len(prefix) >= 2+labelMin:
			return prefix + cutFront(body, n-len(prefix))
		case len(body) <= n:
			return rest // the box's colour says it is an import
		default:
			return cutFront(body, n)
		}
	}
	return cutFront(r, n)
}

// cutFront keeps the end of r in n characters, ".." and the last n-2 of
// r, moved on to the next dot when the cut falls inside a part and a dot
// is left to move to.
func cutFront(r []rune, n int) string {
	body := r[len(r)-(n-2):]
	if r[len(r)-len(body)-1] != '.' {
		for i, c := range body[:len(body)-1] {
			if c == '.' {
				body = body[i+1:]
				break
			}
		}
	}
	return ".." + string(body)
}

// escape writes s as XML character data. xml.EscapeText also replaces
// characters XML cannot carry, so any function name is safe.
func escape(w io.Writer, s string) {
	xml.EscapeText(w, []byte(s))
}

// num formats a coordinate with two decimals, as the script does.
func num(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// graphData is what the script knows of the frames: parallel arrays indexed
// by box (document order of the rects), and a function table they point
// into. Numbers instead of objects keep 100k frames a few MB and quick to
// parse.
type graphData struct {
	Value       string  `json:"value"`
	Unit        string  `json:"unit"`
	HasCalls    bool    `json:"hasCalls"`
	Diff        bool    `json:"diff"`
	Sum         int64   `json:"sum"`     // the total shares are of,
	BaseSum     int64   `json:"baseSum"` // the diff base's,
	Idle        int64   `json:"idle"`    // the idle waiting apart from Sum
	BaseIdle    int64   `json:"baseIdle"`
	Pad         float64 `json:"pad"`
	GraphWidth  float64 `json:"graphWidth"`
	CharWidth   float64 `json:"charWidth"`
	LabelOffset float64 `json:"labelOffset"`
	FrameHeight int     `json:"frameHeight"`
	Inverted    bool    `json:"inverted"`

	Names []string `json:"names"` // function table: name,
	Files []string `json:"files"` // file,
	Lines []int    `json:"lines"` // def line
	Roles []int    `json:"roles"` // and what the frame stands for

	Func   []int   `json:"f"` // per box: index in the function table,
	Parent []int   `json:"p"` // parent box (-1 for the root),
	Start  []int64 `json:"s"` // offset from the root's left edge,
	Total  []int64 `json:"t"` // total,
	Self   []int64 `json:"e"` // self
	Calls  []int64 `json:"c"` // and calls of the chosen value.

	BaseTotal []int64 `json:"bt,omitempty"` // The same of the diff base.
	BaseSelf  []int64 `json:"be,omitempty"`
	BaseCalls []int64 `json:"bc,omitempty"`

	Labelled []int `json:"l"` // boxes whose label the SVG holds, in order
}

func writeData(w *bufio.Writer, pic *picture, labelled []int) {
	d := newGraphData(pic, labelled)
	w.WriteString("<script id=\"pyprof-data\" type=\"application/json\"><![CDATA[")
	// json.Marshal escapes '<' and '>', so no name can end the CDATA early.
	buf, err := json.Marshal(d)
	if err != nil {
		panic(err) // plain strings and numbers always marshal
	}
	w.Write(buf)
	w.WriteString("]]></script>\n")
}

func newGraphData(pic *picture, labelled []int) *graphData {
	info := pic.value.Info()
	d := &graphData{
		Value: info.Type, Unit: info.Unit, HasCalls: pic.hasCalls, Diff: pic.opts.Diff != nil,
		Sum: pic.cur.work, BaseSum: pic.base.work, Idle: pic.cur.idle, BaseIdle: pic.base.idle,
		Pad: padX, GraphWidth: pic.geo.graphWidth, CharWidth: charWidth, LabelOffset: labelBaseline,
		FrameHeight: frameHeight, Inverted: pic.geo.inverted,
		Labelled: labelled,
	}
	funcs := map[funcKey]int{}
	for _, b := range pic.boxes {
		k := funcKey{name: b.fr.name, file: b.fr.file, kind: callgraph.FuncKind(b.fr.kind)}
		i, ok := funcs[k]
		if !ok {
			i = len(d.Names)
			funcs[k] = i
			d.Names, d.Files, d.Lines = append(d.Names, b.fr.name), append(d.Files, b.fr.file), append(d.Lines, b.fr.line)
			d.Roles = append(d.Roles, int(roleOf(b.fr)))
		}
		d.Func = append(d.Func, i)
		d.Parent = append(d.Parent, b.parent)
		d.Start = append(d.Start, b.start)
		d.Total, d.Self, d.Calls = append(d.Total, b.fr.cur.total), append(d.Self, b.fr.cur.self), append(d.Calls, b.fr.cur.calls)
		if d.Diff {
			d.BaseTotal = append(d.BaseTotal, b.fr.base.total)
			d.BaseSelf, d.BaseCalls = append(d.BaseSelf, b.fr.base.self), append(d.BaseCalls, b.fr.base.calls)
		}
	}
	return d
}

// titleRoom is how many characters of the title fit between the reset
// control and the search box, which flank it.
func titleRoom(width float64) int {
	const titleCharWidth = 17 * 0.6 // the title's font size and advance
	return max(12, int((width-2*(260+padX+10))/titleCharWidth))
}

// shortenRight cuts s to n characters, marking the cut.
func shortenRight(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
