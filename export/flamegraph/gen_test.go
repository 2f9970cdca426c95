package flamegraph

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/pyprof/pyprof/callgraph"
)

// generate builds a deterministic profile with the given number of call
// paths (leaves, most of them distinct) over four threads. Functions are
// drawn from a pool that widens with depth, so shallow frames are shared
// the way entry points are, and weights are log-normal, so a few paths are
// hot and most are cold, as in real profiles.
func generate(paths int, seed uint64) *callgraph.Profile {
	r := rand.New(rand.NewPCG(seed, 1))
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	for i := range 4000 {
		kind, file, line := callgraph.KindPython, fmt.Sprintf("/src/pkg%d/mod%d.py", i%37, i%11), 1+i%500
		if i%7 == 0 {
			kind, file, line = callgraph.KindNative, "", 0
		}
		p.AddFunc(callgraph.Func{Name: fmt.Sprintf("pkg%d.mod%d.func_%d", i%37, i%11, i), Filename: file, StartLine: line, Kind: kind})
	}
	for i := range 4 {
		p.Threads = append(p.Threads, &callgraph.Thread{ID: int64(1000 + i), Name: fmt.Sprintf("worker-%d", i), Root: &callgraph.Node{}})
	}
	for range paths {
		addPath(r, p)
	}
	return p
}

func addPath(r *rand.Rand, p *callgraph.Profile) {
	t := p.Threads[min(3, int(r.ExpFloat64()))]
	n := t.Root
	depth := 3 + r.IntN(25)
	path := make([]*callgraph.Node, 0, depth)
	for d := range depth {
		f := int(r.ExpFloat64()*float64(2+d*d)) % len(p.Funcs)
		n = n.Child(callgraph.FuncID(f), int32(1+r.IntN(3)))
		path = append(path, n)
	}
	n.SelfLine = int32(1 + r.IntN(100))
	n.Total[callgraph.Calls] += 1 + int64(r.IntN(50))
	self := int64(1000 * math.Exp(2*r.NormFloat64()))
	for _, x := range path {
		x.Total[callgraph.Wall] += self
	}
}
