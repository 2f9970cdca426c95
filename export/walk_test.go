package export

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// walkPaths renders every path of p as "name:line;name:line".
func walkPaths(t *testing.T, p *callgraph.Profile, opts Options) []string {
	t.Helper()
	w := NewWalker(p, opts)
	var got []string
	err := w.Walk(func(_ *callgraph.Thread, _ *callgraph.Node, path Path) {
		frames := path.Frames()
		parts := make([]string, len(frames))
		for i, f := range frames {
			parts[i] = fmt.Sprintf("%s:%d", w.Func(f.Func).Name, f.Line)
		}
		got = append(got, strings.Join(parts, ";"))
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

func TestWalkPaths(t *testing.T) {
	markerRooted := func() *callgraph.Profile {
		p := chainProfile(3, 1)
		m := p.AddFunc(callgraph.Func{Name: CutMarkerName(3), Kind: callgraph.KindMarker})
		first := p.Threads[0].Root.Children[0]
		root := &callgraph.Node{}
		marker := add(root, m, 0, 0, vals{})
		marker.Children = []*callgraph.Node{first}
		first.Parent = marker
		p.Threads[0].Root = root
		return p
	}
	tests := []struct {
		name    string
		profile *callgraph.Profile
		opts    Options
		want    []string
	}{
		{
			name:    "lines follow the next frame's call line",
			profile: basicProfile(),
			want: []string{
				"__main__.main:3",
				"__main__.main:4;__main__.fib:11",
				"__main__.main:4;__main__.fib:12;__main__.fib:11",
				"__main__.main:4;__main__.fib:12;__main__.fib:12;__main__.fib:11",
				"__main__.main:4;__main__.fib:12;__main__.fib:13;builtins.len:0",
				"__main__.main:5;__main__.gen:21",
				// The resumed generator has no call line: main shows its def line.
				"__main__.main:1;__main__.gen:22",
				"worker.Worker.run:6",
				"worker.Worker.run:7;__main__.fib:11",
				"[lost events]:0",
				"__main__.main:2",
			},
		},
		{
			name:    "unknown self line falls back to the def line",
			profile: chainProfile(2, 1),
			opts:    Options{MaxDepth: 10},
			want:    []string{"main:2", "main:6;rec:7"},
		},
		{
			name:    "deep path keeps its innermost frames under a marker",
			profile: chainProfile(5, 1),
			opts:    Options{MaxDepth: 2},
			want: []string{
				"main:2",
				"main:6;rec:7",
				"[outer frames cut, 2 kept]:0;rec:6;rec:7",
				"[outer frames cut, 2 kept]:0;rec:6;rec:7",
				"[outer frames cut, 2 kept]:0;rec:6;rec:7",
			},
		},
		{
			name:    "negative max depth keeps every frame",
			profile: chainProfile(4, 1),
			opts:    Options{MaxDepth: -1},
			want: []string{
				"main:2",
				"main:6;rec:7",
				"main:6;rec:6;rec:7",
				"main:6;rec:6;rec:6;rec:7",
			},
		},
		{
			name:    "a path starting at a marker is not cut again",
			profile: markerRooted(),
			opts:    Options{MaxDepth: 3},
			want: []string{
				"[outer frames cut, 3 kept]:0",
				"[outer frames cut, 3 kept]:0;main:2",
				"[outer frames cut, 3 kept]:0;main:6;rec:7",
				"[outer frames cut, 3 kept]:0;main:6;rec:6;rec:7",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := walkPaths(t, tt.profile, tt.opts)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestWalkLeavesProfileAlone(t *testing.T) {
	p := chainProfile(50, 1)
	before := len(p.Funcs)
	w := NewWalker(p, Options{MaxDepth: 10})
	if err := w.Walk(func(_ *callgraph.Thread, _ *callgraph.Node, path Path) { path.Frames() }); err != nil {
		t.Fatal(err)
	}
	if len(p.Funcs) != before {
		t.Errorf("profile has %d funcs after the walk, want %d", len(p.Funcs), before)
	}
	if got, want := len(w.Funcs()), before+1; got != want {
		t.Errorf("walker has %d funcs, want %d (one cut marker)", got, want)
	}
}

func TestWalkRejectsUnknownFunc(t *testing.T) {
	p := chainProfile(2, 1)
	p.Threads[0].Root.Children[0].Func = 99
	err := NewWalker(p, Options{}).Walk(func(*callgraph.Thread, *callgraph.Node, Path) {})
	if err == nil || !strings.Contains(err.Error(), "function 99 of 2") {
		t.Errorf("Walk = %v, want an error naming function 99", err)
	}
}

// The walk runs over millions of nodes: it must reuse its slices, not
// allocate per node.
func TestWalkAllocatesPerWalkNotPerNode(t *testing.T) {
	p := wideProfile(10, 4) // 11,110 nodes
	deep := chainProfile(3000, 1)
	for _, p := range []*callgraph.Profile{p, deep} {
		w := NewWalker(p, Options{MaxDepth: 100})
		allocs := testing.AllocsPerRun(5, func() {
			w.Walk(func(*callgraph.Thread, *callgraph.Node, Path) {})
		})
		if allocs > 1 {
			t.Errorf("a walk over %d funcs allocates %v times", len(p.Funcs), allocs)
		}
	}
}
