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

// TestTreeFitsTerminalPaths: on a terminal the tree names files by the
// ends of their paths that tell them apart, as the exit tree does; off
// one (Width 0) it keeps whole paths, for logs and scripts.
func TestTreeFitsTerminalPaths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width int
		want  string
	}{
		{"terminal", 80, "json.dumps ×3  __init__.py:183 "},
		{"log", 0, "json.dumps ×3  /usr/lib/python3.12/json/__init__.py:183 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			if err := WriteTree(&out, sample(t), TreeOptions{Width: tc.width}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("tree:\n%s\nwant a line with %q", out.String(), tc.want)
			}
		})
	}
}
