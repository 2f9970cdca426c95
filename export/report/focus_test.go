package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/view"
)

// TestTreeOfFocusCountsOnce checks that the tree of a focused profile has
// the total of the contexts kept, each share out of it: the root of a
// thread stands for no function, and a focused root that held what reached
// the match counted that time twice, once for itself and once for its
// children.
func TestTreeOfFocusCountsOnce(t *testing.T) {
	tests := []struct {
		name, focus string
	}{
		{"one thread", "^app\\.fib$"},
		{"two threads", "^builtins\\.len$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sample(t)
			view.Focus(p, regexp.MustCompile(tt.focus))
			var out strings.Builder
			if err := WriteTree(&out, p, TreeOptions{}); err != nil {
				t.Fatal(err)
			}
			want := "total " + Human(callgraph.Wall, p.Total(callgraph.Wall)) + ";"
			if first, _, _ := strings.Cut(out.String(), "\n"); !strings.Contains(first, want) {
				t.Errorf("header %q, want %q in it", first, want)
			}
		})
	}
}
