package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// TestWriteEscapes checks that every kind of output escapes the names a
// profile carries: a hostile one would otherwise drive the terminal.
func TestWriteEscapes(t *testing.T) {
	// The fixture splits stacks at ';': the function clears the screen,
	// the thread retitles the terminal.
	const title = "\x1b]0;TITLE\x07"
	p := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("evil\x1b[2J\x07", "/tmp/\x1b[1m.py", 1, callgraph.KindPython).
		Fn("\u009b31mred", "", 0, callgraph.KindNative).
		Add(t, "Thread"+title, "evil\x1b[2J\x07@2;\u009b31mred", 1, 5).Profile
	tests := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"aligned table", func(b *bytes.Buffer) error { return Write(b, p, Options{Aligned: true}) }},
		{"tab-separated", func(b *bytes.Buffer) error { return Write(b, p, Options{}) }},
		{"tree", func(b *bytes.Buffer) error { return WriteTree(b, p, TreeOptions{}) }},
		{"aligned table of a thread", func(b *bytes.Buffer) error {
			return Write(b, p, Options{Aligned: true, Thread: "Thread" + title})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if i := strings.IndexAny(out, "\x1b\x07\u009b"); i >= 0 {
				t.Errorf("raw control character at %d:\n%q", i, out)
			}
			for _, want := range []string{`evil\x1b[2J\x07`, `/tmp/\x1b[1m.py`, `\u009b31mred`} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %s:\n%s", want, out)
				}
			}
		})
	}
}
