package profiler

import (
	"context"
	"errors"
	"fmt"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/sample"
)

// RunningFrame identifies a frame that was running when a region began:
// its code's co_filename and co_firstlineno, which is how the sampler
// names functions too.
type RunningFrame struct {
	File string
	Line int
}

// SampledRegions samples regions of a running process from outside, as
// record --pid does, attached once for all of them.
type SampledRegions struct {
	pid int
	p   *sample.Process
	cur *sampledRegion
}

// sampledRegion is a sampler running until End cancels it.
type sampledRegion struct {
	cancel context.CancelFunc
	done   chan struct{}
	prof   *callgraph.Profile
	st     SampleStats
	err    error
	// hidden files are pyprof's own, which the profile leaves out;
	// running holds, by thread, the frames to leave out above the region.
	hidden  map[string]bool
	running map[int64][]RunningFrame
}

// NewSampledRegions attaches to process pid.
func NewSampledRegions(pid int) (*SampledRegions, error) {
	p, err := sample.Attach(pid)
	if err != nil {
		return nil, samplingError(err)
	}
	return &SampledRegions{pid: pid, p: p}, nil
}

// Close detaches.
func (r *SampledRegions) Close() {
	if r.cur != nil {
		r.cur.cancel()
		<-r.cur.done
	}
	r.p.Close()
}

// Begin starts sampling. Frames of hidden files are left out of the
// profile; so are, on each thread, the outermost frames of its stack that
// match running, outermost first: the frames that were running already
// when the region began, as trace mode leaves them out.
func (r *SampledRegions) Begin(so SampleOptions, hidden []string, running map[int64][]RunningFrame) error {
	if r.cur != nil {
		return fmt.Errorf("%w: a region is recording already", ErrRegionState)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cur := &sampledRegion{cancel: cancel, done: make(chan struct{}), hidden: map[string]bool{}, running: running}
	for _, f := range hidden {
		cur.hidden[f] = true
	}
	go func() {
		defer close(cur.done)
		cur.prof, cur.st, cur.err = sample.Run(ctx, r.p, so.sampler())
	}()
	r.cur = cur
	return nil
}

// End stops sampling and returns the region's profile, its threads named
// from names (by native id) where the sampler knows no name.
func (r *SampledRegions) End(names map[int64]string) (*callgraph.Profile, SampleStats, error) {
	cur := r.cur
	if cur == nil {
		return nil, SampleStats{}, fmt.Errorf("%w: no region is recording", ErrRegionState)
	}
	r.cur = nil
	cur.cancel()
	<-cur.done
	if cur.err != nil && !errors.Is(cur.err, sample.ErrProcessExited) {
		return nil, cur.st, samplingError(cur.err)
	}
	prof := cur.prof
	prof.Elide(func(f callgraph.Func) bool { return cur.hidden[f.Filename] })
	for _, th := range prof.Threads {
		th.Root = withoutRunning(prof, th.Root, cur.running[th.ID])
		if th.Name == "" {
			th.Name = names[th.ID]
		}
	}
	nameThreads(prof, int64(r.pid))
	return prof, cur.st, nil
}

// withoutRunning returns a root holding root's paths with their outermost
// frames left out as long as they match running, one for one: a path
// that leaves running's stack keeps the frames from there on. The time
// those frames held themselves goes to a RunningBeforeMarker frame, so
// that a thread that never left them keeps its time in the profile.
func withoutRunning(p *callgraph.Profile, root *callgraph.Node, running []RunningFrame) *callgraph.Node {
	if len(running) == 0 {
		return root
	}
	out := &callgraph.Node{Total: root.Total}
	var before [callgraph.NumValues]int64
	var strip func(n *callgraph.Node, depth int)
	strip = func(n *callgraph.Node, depth int) {
		for _, c := range n.Children {
			f := p.Funcs[c.Func]
			if depth < len(running) && f.Filename == running[depth].File && f.StartLine == running[depth].Line {
				self := c.Total
				for _, g := range c.Children {
					for v := range self {
						self[v] -= g.Total[v]
					}
				}
				for v := range before {
					before[v] += max(self[v], 0)
				}
				strip(c, depth+1)
				continue
			}
			graft(out, c)
		}
	}
	strip(root, 0)
	if before != ([callgraph.NumValues]int64{}) {
		graft(out, &callgraph.Node{Func: runningBeforeFunc(p), Total: before})
	}
	return out
}

// runningBeforeFunc returns the id of p's RunningBeforeMarker function,
// adding it the first time.
func runningBeforeFunc(p *callgraph.Profile) callgraph.FuncID {
	for i, f := range p.Funcs {
		if f.Name == callgraph.RunningBeforeMarker && f.Kind == callgraph.KindMarker {
			return callgraph.FuncID(i)
		}
	}
	return p.AddFunc(callgraph.Func{Name: callgraph.RunningBeforeMarker, Kind: callgraph.KindMarker})
}

// graft adds a copy of the subtree c under dst, merged with the child dst
// has for the same call (Node.MergeChild: sampled leaves keep their
// executing line apart).
func graft(dst, c *callgraph.Node) {
	dst.MergeChild(c)
}
