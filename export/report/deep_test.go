package report

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// chain is a profile of one call chain of depth distinct functions, f0 to
// a leaf with 1 sample.
func chain(t testing.TB, depth int) *callgraph.Profile {
	t.Helper()
	frames := make([]string, depth)
	for i := range frames {
		frames[i] = "f" + strconv.Itoa(i)
	}
	return exporttest.NewFixture(callgraph.Samples).Add(t, "MainThread", strings.Join(frames, ";"), 1).Profile
}

// byteCounter counts what is written to it.
type byteCounter int64

func (c *byteCounter) Write(p []byte) (int, error) {
	*c += byteCounter(len(p))
	return len(p), nil
}

// TestDeepTreeIsLinear pins the size of a deep chain's tree: one line per
// context, each of bounded indentation, where indenting every level made
// the output grow with the square of the depth (150 MB for 10,000).
func TestDeepTreeIsLinear(t *testing.T) {
	exporttest.CheckLinear(t, "bytes written", func(depth int) uint64 {
		var out byteCounter
		if err := WriteTree(&out, chain(t, depth), TreeOptions{}); err != nil {
			t.Fatal(err)
		}
		return uint64(out)
	})
}

// TestDeepTreeMarksDepth checks how lines past the deepest indented level
// look: indented as that level, with their depth, and a note under the
// tree that says why.
func TestDeepTreeMarksDepth(t *testing.T) {
	const depth = maxIndent + 8
	var out strings.Builder
	if err := WriteTree(&out, chain(t, depth), TreeOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	lead := func(name string) string {
		t.Helper()
		for _, l := range lines {
			if strings.Contains(l, "%  "+name+"  ") {
				before, _, _ := strings.Cut(l, "└─ ")
				return before
			}
		}
		t.Fatalf("no line for %s in:\n%s", name, out.String())
		return ""
	}
	last := "f" + strconv.Itoa(maxIndent-1) // at depth maxIndent
	for i := maxIndent; i < depth; i++ {
		name := "f" + strconv.Itoa(i)
		if got, want := lead(name), lead(last); got != want {
			t.Errorf("%s indented %d columns, want %d as %s", name, len([]rune(got)), len([]rune(want)), last)
		}
		if tag := "└─ [depth " + strconv.Itoa(i+1) + "] "; !strings.Contains(out.String(), tag+"1 100.00%  "+name+"  ") {
			t.Errorf("no line %q in:\n%s", tag+"... "+name, out.String())
		}
	}
	note := "\nindentation stops at depth " + strconv.Itoa(maxIndent) + "; deeper contexts, down to depth " + strconv.Itoa(depth) + ", are marked [depth N]\n"
	if !strings.HasSuffix(out.String(), note) {
		t.Errorf("tree does not end with the note %q:\n%s", note, out.String())
	}
}

func BenchmarkDeepTree(b *testing.B) {
	for _, depth := range exporttest.DeepDepths {
		b.Run(strconv.Itoa(depth), func(b *testing.B) {
			p := chain(b, depth)
			b.ReportAllocs()
			for b.Loop() {
				if err := WriteTree(io.Discard, p, TreeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
