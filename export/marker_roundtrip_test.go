package export_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
	"github.com/pyprof/pyprof/export/speedscope"
)

// markerNames are the marker frames pyprof writes: lost events, a stack
// that moved while read, wall time no sample saw, and the frame standing
// for the outer frames cut at --max-depth (made by the writers).
var markerNames = []string{"[lost 3 events]", "<pyprof: stack changed while read>", "[unobserved]"}

// markerProfile is a profile of Python frames with every marker, one path
// deeper than maxDepth so that writers cut it under their own marker.
func markerProfile(t *testing.T) *callgraph.Profile {
	t.Helper()
	f := exporttest.NewFixture(callgraph.Wall)
	for _, name := range markerNames {
		f.Fn(name, "", 0, callgraph.KindMarker)
	}
	f.Add(t, "main", "app.main@3;[lost 3 events]", 10).
		Add(t, "main", "app.main@4;<pyprof: stack changed while read>", 20).
		Add(t, "main", "[unobserved]", 30).
		Add(t, "main", "app.main@5;app.a@6;app.b@7;app.c", 40)
	return f.Profile
}

// markerDepth cuts app.main;app.a;app.b;app.c to its two innermost frames.
const markerDepth = 2

// kindsByName maps every function of p to its kind.
func kindsByName(p *callgraph.Profile) map[string]callgraph.FuncKind {
	kinds := map[string]callgraph.FuncKind{}
	for _, f := range p.Funcs {
		kinds[f.Name] = f.Kind
	}
	return kinds
}

// TestMarkersRoundTrip writes a profile with marker frames in each format
// pyprof reads back and checks that they come back as markers, the cut
// frames' marker included, and the Python functions as Python functions.
func TestMarkersRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, *callgraph.Profile) error
		read  func(*bytes.Buffer) (*callgraph.Profile, error)
	}{
		{"pprof",
			func(b *bytes.Buffer, p *callgraph.Profile) error {
				return export.WritePprof(b, p, export.Options{MaxDepth: markerDepth})
			},
			func(b *bytes.Buffer) (*callgraph.Profile, error) { return export.ReadPprof(b) }},
		{"folded",
			func(b *bytes.Buffer, p *callgraph.Profile) error {
				return export.WriteFolded(b, p, callgraph.Wall, export.Options{MaxDepth: markerDepth})
			},
			func(b *bytes.Buffer) (*callgraph.Profile, error) { return export.ReadFolded(b, callgraph.Wall) }},
		{"speedscope",
			func(b *bytes.Buffer, p *callgraph.Profile) error {
				wall := callgraph.Wall
				return speedscope.Write(b, p, export.Options{MaxDepth: markerDepth, Value: &wall})
			},
			func(b *bytes.Buffer) (*callgraph.Profile, error) { return speedscope.Read(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf, markerProfile(t)); err != nil {
				t.Fatal(err)
			}
			p, err := tc.read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			checkMarkerKinds(t, p)
		})
	}
}

// checkMarkerKinds checks the kinds of markerProfile's functions read back.
func checkMarkerKinds(t *testing.T, p *callgraph.Profile) {
	t.Helper()
	kinds := kindsByName(p)
	cut := false
	for name, kind := range kinds {
		if strings.HasPrefix(name, "[outer frames cut") {
			cut = true
			if kind != callgraph.KindMarker {
				t.Errorf("%s read back as %s, want marker", name, kind)
			}
		}
	}
	if !cut {
		t.Errorf("no cut-frames marker read back among %v", kinds)
	}
	for _, name := range markerNames {
		if kind, ok := kinds[name]; !ok || kind != callgraph.KindMarker {
			t.Errorf("%s read back as %v (present %v), want marker", name, kind, ok)
		}
	}
	for _, name := range []string{"app.b", "app.c"} {
		if kind := kinds[name]; kind == callgraph.KindMarker {
			t.Errorf("%s read back as a marker", name)
		}
	}
}

// TestMarkersInGoToolPprof checks that go tool pprof names every marker
// frame of a written profile, rather than showing <unknown>.
func TestMarkersInGoToolPprof(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run go tool pprof")
	}
	path := filepath.Join(t.TempDir(), "markers.pb.gz")
	var buf bytes.Buffer
	if err := export.WritePprof(&buf, markerProfile(t), export.Options{MaxDepth: markerDepth}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gobin, "tool", "pprof", "-top", "-nodecount=100", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	for _, name := range append([]string{"[outer frames cut"}, markerNames...) {
		if !strings.Contains(string(out), name) {
			t.Errorf("go tool pprof -top does not show %s:\n%s", name, out)
		}
	}
	if strings.Contains(string(out), "<unknown>") {
		t.Errorf("go tool pprof -top shows <unknown>:\n%s", out)
	}
}
