package speedscope

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
)

// The formats register themselves: export cannot import this package,
// which uses export's walker.
func init() {
	export.RegisterWriter(export.Speedscope, Write)
	export.RegisterReader(export.Speedscope, Read)
}

// Write writes p as a speedscope file, weighed by opts.Value (the
// profile's default quantity when nil), paths cut at opts.MaxDepth as in
// every format.
func Write(w io.Writer, p *callgraph.Profile, opts export.Options) error {
	v := p.Default
	if opts.Value != nil {
		v = *opts.Value
	}
	if v < 0 || v >= callgraph.NumValues || !p.Has(v) {
		return fmt.Errorf("writing speedscope: profile has no %s values", valueType(v))
	}
	f, err := build(p, v, opts)
	if err != nil {
		return fmt.Errorf("writing speedscope: %w", err)
	}
	if err := json.NewEncoder(w).Encode(f); err != nil {
		return fmt.Errorf("writing speedscope: %w", err)
	}
	return nil
}

func valueType(v callgraph.Value) string {
	if v < 0 || v >= callgraph.NumValues {
		return fmt.Sprintf("value(%d)", int(v))
	}
	return v.Info().Type
}

// fileName is the name Write gives the file, and Read parses back.
func fileName(v callgraph.Value) string { return "pyprof " + v.Info().Type + " profile" }

// frameKey interns frames: functions the profile lists twice are one frame.
type frameKey struct {
	name, file string
	line       int32
}

// builder turns the walk into frames and samples, interning frames as they
// stream by.
type builder struct {
	v      callgraph.Value
	walker *export.Walker
	out    *file
	frames map[frameKey]int
	cur    *profile // the profile of the thread being walked
	curT   *callgraph.Thread
}

func build(p *callgraph.Profile, v callgraph.Value, opts export.Options) (*file, error) {
	b := &builder{
		v:      v,
		walker: export.NewWalker(p, opts),
		out:    &file{Schema: Schema, Name: fileName(v), Exporter: "pyprof", Shared: shared{Frames: []frame{}}},
		frames: map[frameKey]int{},
	}
	if err := b.walker.Walk(b.visit); err != nil {
		return nil, err
	}
	if b.out.Profiles == nil {
		b.out.Profiles = []*profile{}
	}
	return b.out, nil
}

// visit adds n's sample. Only then is its path built: building every cut
// path takes the depth times the cut's frames.
func (b *builder) visit(t *callgraph.Thread, n *callgraph.Node, path export.Path) {
	weight := n.Self(b.v)
	if weight == 0 {
		return
	}
	if t != b.curT {
		b.startThread(t)
	}
	frames := path.Frames()
	stack := make([]int, len(frames))
	for i, fr := range frames {
		stack[i] = b.frame(fr)
	}
	b.cur.Samples = append(b.cur.Samples, stack)
	b.cur.Weights = append(b.cur.Weights, float64(weight))
	b.cur.EndValue += float64(weight)
}

// startThread begins the profile of t. Threads without a sample get none:
// the walk visits each thread's nodes together, so a thread starts once.
func (b *builder) startThread(t *callgraph.Thread) {
	unit := "none"
	if b.v.Info().Unit == "nanoseconds" {
		unit = "nanoseconds"
	}
	b.cur, b.curT = &profile{Type: typeSampled, Name: threadName(t), Unit: unit}, t
	b.out.Profiles = append(b.out.Profiles, b.cur)
}

func (b *builder) frame(fr export.Frame) int {
	f := b.walker.Func(fr.Func)
	k := frameKey{f.Name, f.Filename, fr.Line}
	if i, ok := b.frames[k]; ok {
		return i
	}
	b.out.Shared.Frames = append(b.out.Shared.Frames, frame{Name: f.Name, File: f.Filename, Line: fr.Line})
	b.frames[k] = len(b.out.Shared.Frames) - 1
	return len(b.out.Shared.Frames) - 1
}

// threadName names a thread's profile with its ids, which Read parses back.
func threadName(t *callgraph.Thread) string {
	if t.PID != 0 {
		return fmt.Sprintf("%s [pid %d tid %d]", t.Name, t.PID, t.ID)
	}
	return fmt.Sprintf("%s [tid %d]", t.Name, t.ID)
}
