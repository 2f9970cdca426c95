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
// stream by. Nodes whose paths show the same frames (the cut paths of a
// deep recursion all do) share one sample: each thread's paths are merged
// in a trie of frame indexes, so a 10,000-deep recursion writes one sample
// for its cut frames instead of 8,000 of 2,000 frames each.
type builder struct {
	v      callgraph.Value
	walker *export.Walker
	out    *file
	frames map[frameKey]int
	cur    *profile // the profile of the thread being walked
	curT   *callgraph.Thread

	trie     map[trieEdge]int // the thread's trie: child node by parent and frame
	nodes    int              // trie nodes made, the root (0) included
	whole    []int            // trie node of each whole path down to the node visited
	sampleOf map[int]int      // sample index by trie node
}

// trieEdge leads from a trie node to its child for one frame of a path.
// Frames are told apart by function and line here, and interned into the
// file's frame table only when a sample uses them, so that frames of paths
// without weight stay out of the file.
type trieEdge struct {
	parent int
	fn     callgraph.FuncID
	line   int32
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

// visit adds n's weight to the sample of its path. A whole path's trie
// node is one step below its parent's, so every node takes that step; a
// cut path shares no node with its parent's and is merged from the root
// only when it carries weight.
func (b *builder) visit(t *callgraph.Thread, n *callgraph.Node, path export.Path) {
	weight := n.Self(b.v)
	if t != b.curT {
		b.startThread(t)
	}
	var node int
	switch {
	case !path.Cut():
		node = b.extend(path)
	case weight == 0:
		return
	default:
		node = b.merge(path.Frames())
	}
	if weight == 0 {
		return
	}
	i, ok := b.sampleOf[node]
	if !ok {
		frames := path.Frames()
		stack := make([]int, len(frames))
		for j, fr := range frames {
			stack[j] = b.frame(fr)
		}
		i = len(b.cur.Samples)
		b.sampleOf[node] = i
		b.cur.Samples = append(b.cur.Samples, stack)
		b.cur.Weights = append(b.cur.Weights, 0)
	}
	b.cur.Weights[i] += float64(weight)
	b.cur.EndValue += float64(weight)
}

func (b *builder) extend(path export.Path) int {
	parent := 0
	if d := path.Depth(); d > 0 {
		parent = b.whole[d-1]
	}
	node := b.child(parent, path.Leaf())
	b.whole = append(b.whole[:path.Depth()], node)
	return node
}

func (b *builder) merge(frames []export.Frame) int {
	node := 0
	for _, fr := range frames {
		node = b.child(node, fr)
	}
	return node
}

func (b *builder) child(parent int, fr export.Frame) int {
	e := trieEdge{parent, fr.Func, fr.Line}
	if c, ok := b.trie[e]; ok {
		return c
	}
	b.trie[e] = b.nodes
	b.nodes++
	return b.nodes - 1
}

// startThread begins the profile of t. Threads without a sample get an
// empty one, which speedscope shows as an empty thread; the walk visits
// each thread's nodes together, so a thread starts once.
func (b *builder) startThread(t *callgraph.Thread) {
	unit := "none"
	if b.v.Info().Unit == "nanoseconds" {
		unit = "nanoseconds"
	}
	b.cur, b.curT = &profile{Type: typeSampled, Name: threadName(t), Unit: unit}, t
	b.out.Profiles = append(b.out.Profiles, b.cur)
	b.trie, b.nodes, b.whole, b.sampleOf = map[trieEdge]int{}, 1, b.whole[:0], map[int]int{}
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
