package export_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	_ "github.com/pyprof/pyprof/export/flamegraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
	_ "github.com/pyprof/pyprof/export/speedscope"
)

// TestEveryFormatTakesTheSameOptions writes one deep profile in every
// format with the same --max-depth: each must cut its paths there and say
// so with the cut-frames marker, rather than ignore the option.
func TestEveryFormatTakesTheSameOptions(t *testing.T) {
	const depth, maxDepth = 40, 7
	p, err := export.ReadFolded(strings.NewReader(exporttest.DeepFolded(depth)), callgraph.Samples)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range export.Formats() {
		t.Run(string(f), func(t *testing.T) {
			write := export.WriterFor(f)
			if write == nil {
				t.Fatalf("no writer registered for %s", f)
			}
			var out bytes.Buffer
			if err := write(&out, p, export.Options{MaxDepth: maxDepth}); err != nil {
				t.Fatal(err)
			}
			if f == export.SVG { // not read back: its frames are text in the picture
				checkSVGCut(t, out.String(), maxDepth)
				return
			}
			checkReadBackCut(t, f, out.Bytes(), maxDepth)
		})
	}
}

func checkSVGCut(t *testing.T, svg string, maxDepth int) {
	t.Helper()
	if !strings.Contains(svg, export.CutMarkerName(maxDepth)) {
		t.Errorf("flame graph has no %q frame", export.CutMarkerName(maxDepth))
	}
	if strings.Contains(svg, ">f0<") || strings.Contains(svg, "<title>f0 ") {
		t.Error("flame graph draws f0, the outermost frame, past the cut")
	}
}

func checkReadBackCut(t *testing.T, f export.Format, data []byte, maxDepth int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := export.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the %s file back: %v", f, err)
	}
	deepest := 0
	for _, th := range back.Threads {
		walkDepth(th.Root, 0, &deepest)
	}
	// The kept frames, the marker standing for the rest.
	if deepest != maxDepth+1 {
		t.Errorf("deepest path read back has %d frames, want %d", deepest, maxDepth+1)
	}
	found := false
	for _, fn := range back.Funcs {
		found = found || fn.Name == export.CutMarkerName(maxDepth)
	}
	if !found {
		t.Errorf("no %q frame read back", export.CutMarkerName(maxDepth))
	}
}

func walkDepth(n *callgraph.Node, depth int, deepest *int) {
	*deepest = max(*deepest, depth)
	for _, c := range n.Children {
		walkDepth(c, depth+1, deepest)
	}
}
