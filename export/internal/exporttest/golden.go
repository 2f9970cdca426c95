package exporttest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Golden compares output with golden files. Each test binary declares its
// own -update flag and hands it over, since flags belong to the binary:
//
//	var golden = exporttest.Golden{Update: flag.Bool("update", false, "rewrite the golden files in testdata")}
type Golden struct {
	// Update, when it points to true, makes Check rewrite the files
	// instead of comparing with them.
	Update *bool
	// Clip, when positive, is how many runes of each differing line a
	// failure quotes; SVG lines are too long to print whole.
	Clip int
}

// Check compares got with the golden file at path, or rewrites it with
// -update, and names the first differing line.
func (g Golden) Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if g.Update != nil && *g.Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gs, ws := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gs), len(ws)); i++ {
		var gl, wl string
		if i < len(gs) {
			gl = gs[i]
		}
		if i < len(ws) {
			wl = ws[i]
		}
		if gl != wl {
			t.Fatalf("%s: line %d differs (run go test -update if intended)\ngot:  %s\nwant: %s", path, i+1, g.quote(gl), g.quote(wl))
		}
	}
}

// quote quotes a line with %q, cut to g.Clip runes first as %.Nq does.
func (g Golden) quote(line string) string {
	if g.Clip > 0 {
		return fmt.Sprintf("%.*q", g.Clip, line)
	}
	return fmt.Sprintf("%q", line)
}
