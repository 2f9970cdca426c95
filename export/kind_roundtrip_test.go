package export_test

import (
	"bytes"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
	"github.com/pyprof/pyprof/export/speedscope"
)

// bracketedModule is a Python function of code run with globals whose
// __name__ is in brackets (exec(code, {"__name__": "[sandbox]"})): a name
// that looks like a marker's, on a function that has a file.
const bracketedModule = "[sandbox].f"

// kindsProfile has a function of each kind, and the two whose names look
// like what they are not: a Python function named like a marker, and the
// native callable the agent never named, which pyprof names in brackets.
func kindsProfile(t *testing.T) *callgraph.Profile {
	t.Helper()
	f := exporttest.NewFixture(callgraph.Wall).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Fn(bracketedModule, "<string>", 1, callgraph.KindPython).
		Fn("builtins.len", "", 0, callgraph.KindNative).
		Fn(callgraph.UnknownNative, "", 0, callgraph.KindNative).
		Fn(callgraph.LostMarker(3), "", 0, callgraph.KindMarker)
	f.Add(t, "main", "app.main@2;"+bracketedModule, 10).
		Add(t, "main", "app.main@3;builtins.len", 20).
		Add(t, "main", "app.main@4;"+callgraph.UnknownNative, 30).
		Add(t, "main", callgraph.LostMarker(3), 40)
	return f.Profile
}

// TestKindsRoundTrip writes kindsProfile in each format pyprof reads back
// and checks each function's kind as read: every reader tells kinds by
// callgraph.KindOf, so a format that keeps file names gives each its own
// kind back, and folded stacks, which keep none, take a name without
// brackets for a Python function's.
func TestKindsRoundTrip(t *testing.T) {
	withFiles := map[string]callgraph.FuncKind{
		"app.main":              callgraph.KindPython,
		bracketedModule:         callgraph.KindPython,
		"builtins.len":          callgraph.KindNative,
		callgraph.UnknownNative: callgraph.KindNative,
		callgraph.LostMarker(3): callgraph.KindMarker,
	}
	folded := map[string]callgraph.FuncKind{
		"app.main":              callgraph.KindPython,
		"builtins.len":          callgraph.KindPython,
		callgraph.UnknownNative: callgraph.KindNative,
		callgraph.LostMarker(3): callgraph.KindMarker,
	}
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer, *callgraph.Profile) error
		read  func(*bytes.Buffer) (*callgraph.Profile, error)
		want  map[string]callgraph.FuncKind
	}{
		{"pprof",
			func(b *bytes.Buffer, p *callgraph.Profile) error { return export.WritePprof(b, p, export.Options{}) },
			func(b *bytes.Buffer) (*callgraph.Profile, error) { return export.ReadPprof(b) },
			withFiles},
		{"speedscope",
			func(b *bytes.Buffer, p *callgraph.Profile) error { return speedscope.Write(b, p, export.Options{}) },
			func(b *bytes.Buffer) (*callgraph.Profile, error) { return speedscope.Read(b) },
			withFiles},
		{"folded",
			func(b *bytes.Buffer, p *callgraph.Profile) error {
				return export.WriteFolded(b, p, callgraph.Wall, export.Options{})
			},
			func(b *bytes.Buffer) (*callgraph.Profile, error) { return export.ReadFolded(b, callgraph.Wall) },
			folded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf, kindsProfile(t)); err != nil {
				t.Fatal(err)
			}
			p, err := tc.read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			got := kindsByName(p)
			for name, want := range tc.want {
				if kind, ok := got[name]; !ok || kind != want {
					t.Errorf("%s read back as %v (present %v), want %v", name, kind, ok, want)
				}
			}
		})
	}
}
