package diff

import (
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// TestCollidingNamesPairAcrossCheckouts compares runs recorded from two
// checkouts in different directories, where names alone are ambiguous: two
// lambdas of one file, and __main__.main of two scripts. The file's name
// and the def line tell them apart.
func TestCollidingNamesPairAcrossCheckouts(t *testing.T) {
	run := func(dir string, lambdaLines [2]int, scale int64) *callgraph.Profile {
		p := exporttest.NewFixture(callgraph.Wall).
			Fn("f.<lambda>#1", dir+"/app.py", lambdaLines[0], callgraph.KindPython).
			Fn("f.<lambda>#2", dir+"/app.py", lambdaLines[1], callgraph.KindPython).
			Fn("main#a", dir+"/a.py", 1, callgraph.KindPython).
			Fn("main#b", dir+"/b.py", 1, callgraph.KindPython).
			Add(t, "T", "f.<lambda>#1", 5*ms*scale).Add(t, "T", "f.<lambda>#2", 6*ms*scale).
			Add(t, "T", "main#a", 7*ms*scale).Add(t, "T", "main#b", 8*ms*scale).Profile
		for i := range p.Funcs {
			switch p.Funcs[i].Name {
			case "f.<lambda>#1", "f.<lambda>#2":
				p.Funcs[i].Name = "f.<lambda>"
			case "main#a", "main#b":
				p.Funcs[i].Name = "__main__.main"
			}
		}
		return p
	}
	tests := []struct {
		name      string
		base, new *callgraph.Profile
		pairs     int
	}{
		{"same lines, another directory", run("/ci/base", [2]int{10, 11}, 1), run("/ci/head", [2]int{10, 11}, 2), 4},
		{"lambdas moved in another directory: a guess, kept apart", run("/ci/base", [2]int{10, 11}, 1), run("/ci/head", [2]int{20, 21}, 2), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs := 0
			for _, f := range compare(t, tt.base, tt.new, callgraph.Wall).Funcs {
				if f.inBase && f.inNew {
					pairs++
					if f.New.Flat != 2*f.Base.Flat {
						t.Errorf("%s (%s:%d) paired with a function of another time: %d -> %d", f.Func.Name, f.Func.Filename, f.Func.StartLine, f.Base.Flat, f.New.Flat)
					}
				}
			}
			if pairs != tt.pairs {
				t.Errorf("%d functions paired, want %d", pairs, tt.pairs)
			}
		})
	}
}
