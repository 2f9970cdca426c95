package speedscope

import (
	"fmt"
	"math"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
)

// opened is a frame of an evented profile that is open.
type opened struct {
	node  *callgraph.Node
	frame int
	at    float64
}

// addEvents replays open and close events into t's tree: an open is a
// call of the frame from the line of the frame below it, and the time to
// its close is inclusive wall time. Frames still open at the end close at
// the profile's end value.
func (c *converter) addEvents(t *callgraph.Thread, prof *profile) error {
	var stack []opened
	last := math.Inf(-1)
	for i, e := range prof.Events {
		if e.At < last {
			return fmt.Errorf("event %d at %v comes before the previous one at %v", i, e.At, last)
		}
		last = e.At
		var err error
		switch e.Type {
		case eventOpen:
			if err = export.CheckStackDepth(len(stack) + 1); err == nil {
				stack, err = c.open(t, stack, e)
			}
		case eventClose:
			stack, err = c.close(stack, e, prof.Unit)
		default:
			err = fmt.Errorf("unknown type %q", e.Type)
		}
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack, _ = c.close(stack, event{Type: eventClose, Frame: top.frame, At: max(prof.EndValue, last)}, prof.Unit)
	}
	return nil
}

func (c *converter) open(t *callgraph.Thread, stack []opened, e event) ([]opened, error) {
	id, err := c.funcOf(e.Frame)
	if err != nil {
		return stack, err
	}
	parent, callLine := t.Root, int32(0)
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		parent, callLine = top.node, c.frames[top.frame].Line
	}
	n := parent.Child(id, callLine)
	n.SelfLine = c.frames[e.Frame].Line
	n.Total[callgraph.Calls]++
	return append(stack, opened{n, e.Frame, e.At}), nil
}

func (c *converter) close(stack []opened, e event, unit string) ([]opened, error) {
	if len(stack) == 0 {
		return stack, fmt.Errorf("closes frame %d, but no frame is open", e.Frame)
	}
	top := stack[len(stack)-1]
	if top.frame != e.Frame {
		return stack, fmt.Errorf("closes frame %d, but frame %d is the innermost open one", e.Frame, top.frame)
	}
	top.node.Total[callgraph.Wall] += scale(unit, e.At-top.at)
	return stack[:len(stack)-1], nil
}
