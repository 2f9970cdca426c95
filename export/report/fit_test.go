package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

func TestDistinctSuffixes(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  map[string]string
	}{
		{"same base name", []string{"/usr/lib/python3.12/json/__init__.py", "/usr/lib/python3.12/logging/__init__.py"},
			map[string]string{"/usr/lib/python3.12/json/__init__.py": "json/__init__.py", "/usr/lib/python3.12/logging/__init__.py": "logging/__init__.py"}},
		{"unique base names", []string{"/srv/app/main.py", "/usr/lib/python3.12/threading.py"},
			map[string]string{"/srv/app/main.py": "main.py", "/usr/lib/python3.12/threading.py": "threading.py"}},
		{"one path ends another", []string{"/a/b/x.py", "/c/b/x.py", "b/x.py"},
			map[string]string{"/a/b/x.py": "a/b/x.py", "/c/b/x.py": "c/b/x.py", "b/x.py": "b/x.py"}},
		{"frozen names stay", []string{"<frozen importlib._bootstrap>"},
			map[string]string{"<frozen importlib._bootstrap>": "<frozen importlib._bootstrap>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := distinctSuffixes(tt.paths)
			for p, want := range tt.want {
				if got[p] != want {
					t.Errorf("%s: %q, want %q", p, got[p], want)
				}
			}
		})
	}
}

// TestWriteFitsWidth checks that an aligned table with long interpreter
// paths and names fits the terminal, keeping function names' ends and the
// files told apart.
func TestWriteFitsWidth(t *testing.T) {
	lib := "/root/.pyenv/versions/3.12.1/lib/python3.12/"
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	root := &callgraph.Node{}
	for i, f := range []callgraph.Func{
		{Name: "json.encoder.JSONEncoder.iterencode.<locals>._iterencode_list", Filename: lib + "json/__init__.py", StartLine: 300},
		{Name: "logging.Logger.callHandlers", Filename: lib + "logging/__init__.py", StartLine: 1690},
		{Name: "concurrent.futures.thread._WorkItem.run", Filename: lib + "concurrent/futures/thread.py", StartLine: 53},
	} {
		id := p.AddFunc(f)
		n := root.Child(id, 0)
		n.Total[callgraph.Calls], n.Total[callgraph.Wall] = int64(i+1), int64(i+1)*1e6
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	for _, width := range []int{90, 100, 120} {
		var out bytes.Buffer
		if err := Write(&out, p, Options{Aligned: true, Width: width}); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		for _, line := range strings.Split(strings.TrimSpace(text), "\n")[1:] {
			if n := len([]rune(line)); n > width {
				t.Errorf("width %d: a line of %d columns: %q", width, n, line)
			}
		}
		for _, want := range []string{"json/__init__.py:300", "logging/__init__.py:1690", "thread.py:53", "_iterencode_list", "Logger.callHandlers"} {
			if !strings.Contains(text, want) {
				t.Errorf("width %d: no %q in\n%s", width, want, text)
			}
		}
		if strings.Contains(text, lib) {
			t.Errorf("width %d: the interpreter's path is still there:\n%s", width, text)
		}
	}
}

// TestWriteFitsWidthWithoutCalls: a profile that counts no calls (a
// sampled one) gives up its columns of "-" before any that says something:
// its names at their fewest columns (minName) and these locations fit 84
// columns only without the calls column.
func TestWriteFitsWidthWithoutCalls(t *testing.T) {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Samples, callgraph.Wall}, Default: callgraph.Wall}
	root := &callgraph.Node{}
	for i, f := range []callgraph.Func{
		{Name: "shop.services.billing.invoices.renderer.InvoiceRenderer.render_line_items", Filename: "/srv/shop/billing/invoices/renderer.py", StartLine: 120},
		{Name: "shop.services.billing.shipping.renderer.LabelRenderer.render_address_block", Filename: "/srv/shop/billing/shipping/renderer.py", StartLine: 48},
	} {
		n := root.Child(p.AddFunc(f), 0)
		n.Total[callgraph.Samples], n.Total[callgraph.Wall] = int64(i+1), int64(i+1)*1e7
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	for _, width := range []int{84, 90} {
		var out bytes.Buffer
		if err := Write(&out, p, Options{Aligned: true, Width: width}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		for _, line := range lines[1:] {
			if n := Columns(line); n > width {
				t.Errorf("width %d: a line of %d columns: %q", width, n, line)
			}
		}
		for _, col := range []string{"flat", "flat%", "cum", "cum%"} {
			if !slices.Contains(strings.Fields(lines[1]), col) {
				t.Errorf("width %d: column %s left out: %q", width, col, lines[1])
			}
		}
	}
}

// TestWriteFitsEightyColumns: on an 80-column terminal, locations long
// enough that names at their fewest columns would not fit give up their
// fronts, keeping the file's own name's end and the line.
func TestWriteFitsEightyColumns(t *testing.T) {
	lib := "/root/.pyenv/versions/3.12.1/lib/python3.12/"
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	root := &callgraph.Node{}
	for i, f := range []callgraph.Func{
		{Name: "asyncio.base_events.BaseEventLoop._run_once", Filename: lib + "asyncio/base_events.py", StartLine: 1894},
		{Name: "concurrent.futures.thread._WorkItem.run", Filename: lib + "concurrent/futures/thread.py", StartLine: 53},
		{Name: "app.handlers.requests.process_incoming", Filename: "/srv/app/handlers/requests_processing_module.py", StartLine: 1210},
	} {
		id := p.AddFunc(f)
		n := root.Child(id, 0)
		n.Total[callgraph.Calls], n.Total[callgraph.Wall] = int64(10000*(i+1)), int64(i+1)*1e8
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	var out bytes.Buffer
	if err := Write(&out, p, Options{Aligned: true, Width: 80}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if n := Columns(line); n > 80 {
			t.Errorf("a line of %d columns: %q", n, line)
		}
	}
	for _, want := range []string{":1894", ":53", ":1210", "_run_once", "process_incoming"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}

// TestWriteTellsCutRowsApart: two packages' same-named functions in
// same-named files, on an 80-column terminal, have names cut to the same
// end; their locations keep what tells the files apart instead of being
// cut to the same ../utils.py:2.
func TestWriteTellsCutRowsApart(t *testing.T) {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	root := &callgraph.Node{}
	for i, f := range []callgraph.Func{
		{Name: "app.blog.utils.summarize.<locals>.<genexpr>", Filename: "/srv/proj/app/blog/utils.py", StartLine: 2},
		{Name: "app.shop.utils.summarize.<locals>.<genexpr>", Filename: "/srv/proj/app/shop/utils.py", StartLine: 2},
		{Name: "app.blog.models.Model.__init__", Filename: "/srv/proj/app/blog/models.py", StartLine: 14},
		{Name: "app.shop.models.Model.__init__", Filename: "/srv/proj/app/shop/models.py", StartLine: 14},
		{Name: "builtins.sum", Filename: ""},
	} {
		n := root.Child(p.AddFunc(f), 0)
		n.Total[callgraph.Calls], n.Total[callgraph.Wall] = int64(100000*(i+1)), int64(i+1)*1e8
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	var out bytes.Buffer
	if err := Write(&out, p, Options{Aligned: true, Width: 80}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if n := Columns(line); n > 80 {
			t.Errorf("a line of %d columns: %q", n, line)
		}
	}
	for _, want := range []string{"blog/utils.py:2", "shop/utils.py:2", "blog/models.py:14", "shop/models.py:14", "<genexpr>"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}
