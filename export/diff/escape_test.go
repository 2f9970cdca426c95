package diff

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

func TestTextEscapes(t *testing.T) {
	hostile := func(n int64) *callgraph.Profile {
		return exporttest.NewFixture(callgraph.Samples).
			Fn("evil\x1b[2J\x07", "/tmp/\x1b]0:x\x07.py", 1, callgraph.KindPython).
			Add(t, "MainThread", "evil\x1b[2J\x07@2", n).Profile
	}
	r := compare(t, hostile(10), hostile(1000), callgraph.Samples)
	var b bytes.Buffer
	if err := r.WriteText(&b, 0); err != nil {
		t.Fatal(err)
	}
	for _, g := range r.Regressions(10) {
		b.WriteString(g.String() + "\n")
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("raw control characters:\n%q", out)
	}
	if !strings.Contains(out, `evil\x1b[2J\x07`) || !strings.Contains(out, `/tmp/\x1b]0:x\x07.py`) {
		t.Errorf("escaped names missing:\n%s", out)
	}
}
