package speedscope

import (
	"fmt"
	"slices"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
)

// funcKey merges frames into functions: speedscope frames of one function
// differ only by line.
type funcKey struct {
	name, file string
}

// converter builds a profile from a file's profiles.
type converter struct {
	p      *callgraph.Profile
	v      callgraph.Value // the value of sampled profiles
	frames []frame
	funcs  []int // function id by frame index; -1 until first used
	index  map[funcKey]callgraph.FuncID
}

func newConverter(frames []frame, v callgraph.Value) *converter {
	c := &converter{
		p:      &callgraph.Profile{Default: v},
		v:      v,
		frames: frames,
		funcs:  make([]int, len(frames)),
		index:  map[funcKey]callgraph.FuncID{},
	}
	for i := range c.funcs {
		c.funcs[i] = -1
	}
	c.measures(v) // even a file without profiles says what it measured
	return c
}

func (c *converter) add(prof *profile, i int) error {
	t := newThread(prof.Name, i)
	c.p.Threads = append(c.p.Threads, t)
	if d := time.Duration(scale(prof.Unit, prof.EndValue-prof.StartValue)); prof.Unit != "none" && d > c.p.Duration {
		c.p.Duration = d
	}
	if prof.Type == typeEvented {
		c.measures(callgraph.Calls, callgraph.Wall)
		return c.addEvents(t, prof)
	}
	c.measures(c.v)
	return c.addSamples(t, prof)
}

// measures adds vs to the profile's values, keeping them in Value order.
func (c *converter) measures(vs ...callgraph.Value) {
	for _, v := range vs {
		if !c.p.Has(v) {
			c.p.Values = append(c.p.Values, v)
		}
	}
	slices.Sort(c.p.Values)
}

func (c *converter) addSamples(t *callgraph.Thread, prof *profile) error {
	if len(prof.Samples) != len(prof.Weights) {
		return fmt.Errorf("%d samples but %d weights", len(prof.Samples), len(prof.Weights))
	}
	path := []*callgraph.Node{}
	for i, stack := range prof.Samples {
		if err := export.CheckStackDepth(len(stack)); err != nil {
			return fmt.Errorf("sample %d: %w", i, err)
		}
		path = path[:0]
		n := t.Root
		var callLine int32
		for _, fi := range stack {
			id, err := c.funcOf(fi)
			if err != nil {
				return fmt.Errorf("sample %d: %w", i, err)
			}
			n = n.Child(id, callLine)
			path = append(path, n)
			callLine = c.frames[fi].Line
		}
		if len(path) == 0 {
			continue // an empty stack belongs to no function
		}
		n.SelfLine = callLine
		c.weigh(path, scale(prof.Unit, prof.Weights[i]))
	}
	return nil
}

// weigh adds a sample's weight: along the whole path for inclusive values,
// to the leaf alone for calls, which nodes hold as their own count.
func (c *converter) weigh(path []*callgraph.Node, w int64) {
	if c.v == callgraph.Calls {
		path[len(path)-1].Total[callgraph.Calls] += w
		return
	}
	for _, n := range path {
		n.Total[c.v] += w
	}
}

// funcOf returns the function of frame index fi, adding it on first use.
func (c *converter) funcOf(fi int) (callgraph.FuncID, error) {
	if fi < 0 || fi >= len(c.frames) {
		return 0, fmt.Errorf("frame %d of %d", fi, len(c.frames))
	}
	if id := c.funcs[fi]; id >= 0 {
		return callgraph.FuncID(id), nil
	}
	fr := c.frames[fi]
	k := funcKey{fr.Name, fr.File}
	id, ok := c.index[k]
	if !ok {
		id = c.p.AddFunc(callgraph.Func{Name: fr.Name, Filename: fr.File, Kind: callgraph.KindOf(fr.Name, fr.File, true)})
		c.index[k] = id
	}
	c.funcs[fi] = int(id)
	return id, nil
}
