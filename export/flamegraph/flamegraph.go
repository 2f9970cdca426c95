package flamegraph

import (
	"bufio"
	"cmp"
	"fmt"
	"io"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/view"
)

// Defaults for Options fields left zero.
const (
	DefaultTitle = "Flame Graph"
	DefaultWidth = 1200
	// DefaultMinWidth drops frames narrower than a third of a pixel: they
	// cannot be seen or clicked. On the 100k-path test profile it keeps
	// 5,946 frames (0.6 MB), which Chromium loads in 0.4-0.6 s on a busy
	// 2-core machine; flamegraph.pl's 0.1 px keeps 27,011 (2.8 MB) and
	// takes 1-2 s (BenchmarkBrowser100k).
	DefaultMinWidth = 0.33
)

// Options tune the picture.
type Options struct {
	// Title heads the picture; empty names what the profile says it
	// recorded (the program, mode, Python and date), or DefaultTitle when it
	// says nothing; with Diff, the program compared.
	Title string
	// Width is the picture's width in pixels; 0 means DefaultWidth.
	Width int
	// MinWidth is the width in pixels below which a frame and its callees
	// are not drawn: their parent's box covers them. 0 means
	// DefaultMinWidth; a negative value draws every frame.
	MinWidth float64
	// Inverted draws an icicle graph: the root on top, callees below.
	Inverted bool
	// Value is the quantity frames are weighed by; nil means the profile's
	// Default. For Calls a frame is as wide as the calls made in its
	// subtree.
	Value *callgraph.Value
	// MaxDepth cuts deeper paths the way every exporter does
	// (export.Options.MaxDepth).
	MaxDepth int
	// Diff, when set, makes a differential flame graph against a base
	// profile.
	Diff *DiffInfo
}

// DiffInfo is the base a differential flame graph compares with. Frames are
// matched by their path of functions, each base function standing for the
// new function Match pairs it with; frames only in the base are not drawn,
// since widths come from the new profile.
type DiffInfo struct {
	Base *callgraph.Profile
	// BaseName and NewName name the two sides, such as the files they were
	// read from, in the line under the title that says what is compared;
	// empty names a side "base" or "new".
	BaseName, NewName string
	// Match returns the function of the new profile that the base
	// function f is, or false when the new profile has none: f's frames
	// then stay apart from every new frame, even one of the same name and
	// file. Nil pairs functions of the same name and file, which two
	// recordings of one checkout share.
	Match func(f callgraph.Func) (callgraph.Func, bool)
}

func (o Options) value(p *callgraph.Profile) callgraph.Value {
	if o.Value != nil {
		return *o.Value
	}
	return p.Default
}

func (o Options) width() int {
	if o.Width <= 0 {
		return DefaultWidth
	}
	return o.Width
}

func (o Options) minWidth() float64 {
	if o.MinWidth == 0 {
		return DefaultMinWidth
	}
	return o.MinWidth
}

// Flame graphs register as the SVG format with export, which cannot import
// this package (it uses export's walker).
func init() { export.RegisterWriter(export.SVG, writeExported) }

// writeExported is Write for the options every format takes. A flame
// graph is a view, so pools' idle waiting goes apart as in every view.
func writeExported(w io.Writer, p *callgraph.Profile, o export.Options) error {
	return Write(w, view.FoldIdle(p), Options{MaxDepth: o.MaxDepth, Value: o.Value})
}

// Write writes p as an SVG flame graph.
func Write(w io.Writer, p *callgraph.Profile, opts Options) error {
	v := opts.value(p)
	root, err := merge(p, v, opts)
	if err != nil {
		return fmt.Errorf("flamegraph: %w", err)
	}
	pic := &picture{
		opts: opts, value: v, lost: p.Lost,
		threads: len(p.Threads), hasCalls: p.Has(callgraph.Calls), cur: totalsOf(p, v),
	}
	pic.title = cmp.Or(opts.Title, describe(p, titleRoom(float64(opts.width()))))
	if opts.Diff != nil {
		pic.base = totalsOf(opts.Diff.Base, v)
		base, cur := recordingOf(opts.Diff.Base), recordingOf(p)
		pic.title = cmp.Or(opts.Title, diffTitle(base, cur, titleRoom(float64(opts.width()))))
		pic.sides = diffSides(opts.Diff, base, cur)
	}
	pic.subtitle = pic.describeTotals()
	g := newGeometry(opts, pic.sides != "")
	boxes, depth := layout(root, g.scale(root.cur.total), opts.minWidth())
	g.setDepth(depth)
	pic.boxes, pic.geo = boxes, g
	bw := bufio.NewWriter(w)
	writeSVG(bw, pic)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("flamegraph: %w", err)
	}
	return nil
}

// merge builds the merged tree of p, and of the diff base when there is one.
func merge(p *callgraph.Profile, v callgraph.Value, opts Options) (*frame, error) {
	profiles := []*callgraph.Profile{p}
	if opts.Diff != nil {
		if opts.Diff.Base == nil {
			return nil, fmt.Errorf("diff without a base profile")
		}
		profiles = append(profiles, opts.Diff.Base)
	}
	for _, q := range profiles {
		if v < 0 || v >= callgraph.NumValues || !q.Has(v) {
			return nil, fmt.Errorf("profile has no %s values", valueType(v))
		}
	}
	m := newMerger(threadLevel(profiles...))
	walkOpts := export.Options{MaxDepth: opts.MaxDepth}
	if err := m.add(p, v, walkOpts, false); err != nil {
		return nil, err
	}
	if opts.Diff != nil {
		m.match = opts.Diff.Match
		if err := m.add(opts.Diff.Base, v, walkOpts, true); err != nil {
			return nil, fmt.Errorf("base: %w", err)
		}
	}
	m.root.sum()
	return m.root, nil
}

func valueType(v callgraph.Value) string {
	if v < 0 || v >= callgraph.NumValues {
		return fmt.Sprintf("value(%d)", int(v))
	}
	return v.Info().Type
}
