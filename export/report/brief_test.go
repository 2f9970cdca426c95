package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// longProfile has what makes rows long: a deep chain of long names, a
// library frame folded into a note, an import of a long module path and
// a thread with a long name.
func longProfile(t *testing.T) *callgraph.Profile {
	t.Helper()
	chain := "app.main@3"
	for _, name := range []string{"app.handlers.requests.RequestHandler.dispatch_request", "app.services.billing.InvoiceRenderer.render_all_pages"} {
		chain += ";" + name + "@9"
	}
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("import app.vendored.very.long.package.path.submodule.leaf", "/srv/app/vendored/leaf.py", 0, callgraph.KindPython).
		Fn("concurrent.futures.thread._worker", "/usr/lib/python3.12/concurrent/futures/thread.py", 69, callgraph.KindPython).
		Add(t, "MainThread", chain, 123_456, 700*ms).
		Add(t, "MainThread", "app.main@4;import app.vendored.very.long.package.path.submodule.leaf", 1, 200*ms).
		Add(t, "ThreadPoolExecutor-0_0 with a name longer than any terminal would ever be wide", "concurrent.futures.thread._worker;app.job", 7, 100*ms).Profile
}

// TestBriefFitsWidth: every line of the exit tree fits the terminal's
// width, 80 columns when it is unknown, however long the names.
func TestBriefFitsWidth(t *testing.T) {
	tests := []struct {
		name    string
		profile func(*testing.T) *callgraph.Profile
		width   int // 0: unknown
	}{
		{"pool, width unknown", pool, 0},
		{"pool, narrow", pool, 60},
		{"long names, width unknown", longProfile, 0},
		{"long names, narrow", longProfile, 50},
		{"long names, wide", longProfile, 120},
		{"wide characters, width unknown", wideProfile, 0},
		{"wide characters, narrow", wideProfile, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteBrief(&out, tt.profile(t), BriefOptions{Width: tt.width}); err != nil {
				t.Fatal(err)
			}
			width := tt.width
			if width == 0 {
				width = DefaultWidth
			}
			for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
				if n := Columns(line); n > width {
					t.Errorf("a line of %d columns, over %d: %q", n, width, line)
				}
				// A thread's name is cut, not its value.
				if strings.HasPrefix(line, "ThreadPoolExecutor-0_0") && !strings.HasSuffix(line, " 100ms") {
					t.Errorf("the thread's line lost its value: %q", line)
				}
			}
		})
	}
}

// TestImportNamesKeepImport: a cut import frame still says "import" and
// names the module's own end, in the exit tree and in the table.
func TestImportNamesKeepImport(t *testing.T) {
	const module = "import app.vendored.very.long.package.path.submodule.leaf"
	t.Run("exit tree", func(t *testing.T) {
		var out bytes.Buffer
		if err := WriteBrief(&out, longProfile(t), BriefOptions{Width: 44}); err != nil {
			t.Fatal(err)
		}
		checkImportCut(t, out.String(), module)
	})
	t.Run("table", func(t *testing.T) {
		var out bytes.Buffer
		if err := Write(&out, longProfile(t), Options{Aligned: true, Width: 80}); err != nil {
			t.Fatal(err)
		}
		checkImportCut(t, out.String(), module)
	})
}

func checkImportCut(t *testing.T, text, module string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if !strings.Contains(line, "module.leaf") {
			continue
		}
		if strings.Contains(line, module) {
			t.Fatalf("the import is not cut, the test proves nothing:\n%s", text)
		}
		if !strings.Contains(line, "import ..") {
			t.Errorf("the cut import lost the word import: %q", line)
		}
		return
	}
	t.Errorf("no row names the import's module:\n%s", text)
}

// TestBriefCallsExact: the exit tree and the call tree print calls as
// counted, not rounded, and the row still fits the width.
func TestBriefCallsExact(t *testing.T) {
	p := func(t *testing.T) *callgraph.Profile {
		return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
			Fn("json.loads", "/usr/lib/python3.12/json/__init__.py", 299, callgraph.KindPython).
			Add(t, "MainThread", "__main__.work@5;json.loads", 20_001, 60*ms).
			Add(t, "MainThread", "__main__.work@6;__main__.parse_all_the_records_of_the_input_file", 1_234_567, 40*ms).Profile
	}
	tests := []struct {
		name  string
		write func(w *bytes.Buffer, p *callgraph.Profile) error
		width int
	}{
		{"exit tree", func(w *bytes.Buffer, p *callgraph.Profile) error { return WriteBrief(w, p, BriefOptions{}) }, DefaultWidth},
		{"exit tree, narrow", func(w *bytes.Buffer, p *callgraph.Profile) error { return WriteBrief(w, p, BriefOptions{Width: 44}) }, 44},
		{"call tree", func(w *bytes.Buffer, p *callgraph.Profile) error { return WriteTree(w, p, TreeOptions{}) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tt.write(&out, p(t)); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			for _, want := range []string{"×20,001", "×1,234,567"} {
				if !strings.Contains(text, want) {
					t.Errorf("no %q in\n%s", want, text)
				}
			}
			for _, line := range strings.Split(text, "\n") {
				if tt.width > 0 && Columns(line) > tt.width {
					t.Errorf("a line of %d columns, over %d: %q", Columns(line), tt.width, line)
				}
			}
		})
	}
}

func TestExactCount(t *testing.T) {
	for _, c := range []struct {
		name string
		n    int64
		want string
	}{
		{"zero", 0, "0"},
		{"three digits", 999, "999"},
		{"four digits", 1000, "1,000"},
		{"seven digits", 1234567, "1,234,567"},
		{"negative", -20000, "-20,000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := exactCount(c.n); got != c.want {
				t.Errorf("exactCount(%d) = %q, want %q", c.n, got, c.want)
			}
		})
	}
}

// TestBriefKeepsLibraryEntry: a run of library frames that ends in the
// library is shown by the function the program called, which names where
// the run ends; one that leads back to the program's code is shown by
// that code, which names the frames it came through.
func TestBriefKeepsLibraryEntry(t *testing.T) {
	const lib = "/usr/lib/python3.12/"
	p := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("json.loads", lib+"json/__init__.py", 299, callgraph.KindPython).
		Fn("json.decoder.JSONDecoder.decode", lib+"json/decoder.py", 332, callgraph.KindPython).
		Fn("json.decoder.JSONDecoder.raw_decode", lib+"json/decoder.py", 343, callgraph.KindPython).
		Fn("_json.Scanner.__call__", "", 0, callgraph.KindNative).
		Fn("json.dumps", lib+"json/__init__.py", 183, callgraph.KindPython).
		Fn("json.encoder.JSONEncoder.encode", lib+"json/encoder.py", 183, callgraph.KindPython).
		Fn("threading.Thread.run", lib+"threading.py", 999, callgraph.KindPython).
		Fn("concurrent.futures.thread._worker", lib+"concurrent/futures/thread.py", 69, callgraph.KindPython).
		Fn("concurrent.futures.thread._WorkItem.run", lib+"concurrent/futures/thread.py", 53, callgraph.KindPython).
		Add(t, "MainThread", "__main__.work@5;json.loads@6;json.decoder.JSONDecoder.decode@7;json.decoder.JSONDecoder.raw_decode@8;_json.Scanner.__call__", 200, 40*ms).
		Add(t, "MainThread", "__main__.work@5;json.loads", 200, 0).
		Add(t, "MainThread", "__main__.work@5;json.loads@6;json.decoder.JSONDecoder.decode", 200, 0).
		Add(t, "MainThread", "__main__.work@5;json.loads@6;json.decoder.JSONDecoder.decode@7;json.decoder.JSONDecoder.raw_decode", 200, 0).
		Add(t, "MainThread", "__main__.work@9;json.dumps@10;json.encoder.JSONEncoder.encode", 300, 30*ms).
		Add(t, "MainThread", "__main__.work@9;json.dumps", 300, 0).
		Add(t, "worker", "threading.Thread.run@1;concurrent.futures.thread._worker@2;concurrent.futures.thread._WorkItem.run@3;__main__.task", 8, 30*ms).
		Fn("socketserver.BaseServer.serve_forever", lib+"socketserver.py", 215, callgraph.KindPython).
		Fn("selectors.PollSelector.select", lib+"selectors.py", 319, callgraph.KindPython).
		Fn("select.poll.poll", "", 0, callgraph.KindNative).
		Add(t, "server", "threading.Thread.run@1;socketserver.BaseServer.serve_forever@2;selectors.PollSelector.select@3;select.poll.poll", 9, 30*ms).Profile
	tests := []struct {
		name string
		want string // the row's name and what follows it
	}{
		{"entry into a run that ends in the library", "json.loads  ×200  [to _json.Scanner.__call__ via 2 frames in json]"},
		{"entry straight into where the time goes", "json.dumps  ×300  [to json.encoder.JSONEncoder.encode]"},
		{"a run that leads back to the program", "__main__.task  ×8  app.py:1  [3 frames via threading, concurrent]"},
		{"a run that starts a thread", "select.poll.poll  ×9  [3 frames via threading, socketserver, selectors]"},
	}
	var out bytes.Buffer
	if err := WriteBrief(&out, p, BriefOptions{Width: 120}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(text, "%  "+tt.want+"\n") {
				t.Errorf("no row %q in\n%s", tt.want, text)
			}
		})
	}
	for _, hidden := range []string{"raw_decode", "threading.Thread.run  "} {
		if strings.Contains(text, hidden) {
			t.Errorf("%q has a row of its own, not folded:\n%s", hidden, text)
		}
	}
}

// TestGroupingRowsShowNoCalls: rows that stand for no call (the import
// machinery outside an import, what merged imports shared, a module its
// loader ran without an import, lost events) show no calls figure in the
// call tree, the table or the exit tree; the function beside them does.
func TestGroupingRowsShowNoCalls(t *testing.T) {
	p := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("importlib (machinery)", "", 0, callgraph.KindNative).
		Fn("import (finding and loading a, b)", "", 0, callgraph.KindNative).
		Fn("import plugin", "/srv/app/plugins/plugin.py", 0, callgraph.KindPython).
		Fn("[lost events]", "", 0, callgraph.KindMarker).
		Add(t, "MainThread", "app.main@2;importlib (machinery)", 0, 30*ms).
		Add(t, "MainThread", "app.main@3;import (finding and loading a, b)", 2, 30*ms).
		Add(t, "MainThread", "app.main@4;import plugin", 0, 30*ms).
		Add(t, "MainThread", "[lost events]", 0, 30*ms).
		Add(t, "MainThread", "app.main", 1, 0).Profile
	grouping := []string{"importlib (machinery)", "import (finding and loading a, b)", "import plugin", "[lost events]"}
	tests := []struct {
		name  string
		write func(w *bytes.Buffer) error
		calls func(line string) bool // whether line shows calls
	}{
		{"call tree", func(w *bytes.Buffer) error { return WriteTree(w, p, TreeOptions{}) },
			func(line string) bool { return strings.Contains(line, "×") }},
		{"exit tree", func(w *bytes.Buffer) error { return WriteBrief(w, p, BriefOptions{}) },
			func(line string) bool { return strings.Contains(line, "×") }},
		{"table", func(w *bytes.Buffer) error { return Write(w, p, Options{Aligned: true}) },
			func(line string) bool { return strings.Fields(line)[5] != "-" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tt.write(&out); err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, line := range strings.Split(out.String(), "\n") {
				switch {
				case slices.ContainsFunc(grouping, func(g string) bool { return strings.Contains(line, g) }):
					seen++
					if tt.calls(line) {
						t.Errorf("a grouping row shows calls: %q", line)
					}
				case strings.Contains(line, "app.main") && !tt.calls(line):
					t.Errorf("app.main shows no calls: %q", line)
				}
			}
			if seen != len(grouping) {
				t.Errorf("%d of the %d grouping rows shown:\n%s", seen, len(grouping), out.String())
			}
		})
	}
}

// TestBriefTellsFilesApart: functions of one name in two files of one
// name (two folders' plugin.py) show where each is.
func TestBriefTellsFilesApart(t *testing.T) {
	p := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("plugin.run", "/srv/app/a/plugin.py", 1, callgraph.KindPython).
		Fn("plugin.run ", "/srv/app/b/plugin.py", 1, callgraph.KindPython).
		Fn("__main__.<module>", "/srv/app/main.py", 1, callgraph.KindPython).
		Add(t, "MainThread", "__main__.<module>@3;plugin.run", 1, 30*ms).
		Add(t, "MainThread", "__main__.<module>@4;plugin.run ", 1, 60*ms).Profile
	p.Funcs[1].Name = "plugin.run" // the same name, a function of its own
	var out bytes.Buffer
	if err := WriteBrief(&out, p, BriefOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"plugin.run  ×1  a/plugin.py:1\n", "plugin.run  ×1  b/plugin.py:1\n", "__main__.<module>  main.py:1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}

// crawlerProfile is an asyncio program's: importing asyncio (a dozen
// asyncio.* modules, with logging and ssl on the way) takes most of the
// time, and the program's own work the rest.
func crawlerProfile(t *testing.T, workMs int64) *callgraph.Profile {
	t.Helper()
	const lib = "/usr/lib/python3.12/"
	f := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("__main__.<module>", "/srv/crawler.py", 1, callgraph.KindPython).
		Fn("__main__.crawl", "/srv/crawler.py", 5, callgraph.KindPython).
		Fn("__main__.parse", "/srv/crawler.py", 9, callgraph.KindPython)
	top := "__main__.<module>@2;import asyncio;asyncio.<module>"
	f.Fn("import asyncio", lib+"asyncio/__init__.py", 0, callgraph.KindPython).
		Fn("asyncio.<module>", lib+"asyncio/__init__.py", 1, callgraph.KindPython)
	for i, sub := range []string{"base_events", "coroutines", "events", "exceptions", "futures", "locks", "protocols", "queues", "runners", "streams", "subprocess", "tasks"} {
		mod := "asyncio." + sub
		f.Fn("import "+mod, lib+"asyncio/"+sub+".py", 0, callgraph.KindPython).
			Fn(mod+".<module>", lib+"asyncio/"+sub+".py", 1, callgraph.KindPython)
		at := top + ";import " + mod + ";" + mod + ".<module>"
		f.Add(t, "MainThread", at, 1, int64(10+i)*ms).Add(t, "MainThread", top+";import "+mod, 1, 0)
		if sub == "base_events" {
			f.Fn("import logging", lib+"logging/__init__.py", 0, callgraph.KindPython).
				Fn("logging.<module>", lib+"logging/__init__.py", 1, callgraph.KindPython).
				Fn("import ssl", lib+"ssl.py", 0, callgraph.KindPython).
				Fn("ssl.<module>", lib+"ssl.py", 1, callgraph.KindPython).
				Add(t, "MainThread", at+";import logging;logging.<module>", 1, 30*ms).
				Add(t, "MainThread", at+";import logging", 1, 0).
				Add(t, "MainThread", at+";import ssl;ssl.<module>", 1, 20*ms).
				Add(t, "MainThread", at+";import ssl", 1, 0)
		}
	}
	f.Add(t, "MainThread", top, 1, 0).Add(t, "MainThread", "__main__.<module>@2;import asyncio", 1, 0)
	f.Add(t, "MainThread", "__main__.<module>@3;__main__.crawl@6;__main__.parse", 40, workMs*ms).
		Add(t, "MainThread", "__main__.<module>@3;__main__.crawl", 40, 0)
	return f.Profile
}

// TestBriefImportsStayFew: the imports of one package are one row, and
// imports leave the program's work on the screen.
func TestBriefImportsStayFew(t *testing.T) {
	tests := []struct {
		name  string
		p     func(*testing.T) *callgraph.Profile
		want  []string
		never []string
	}{
		{"a package's modules are its import's row", func(t *testing.T) *callgraph.Profile { return crawlerProfile(t, 60) },
			[]string{"import asyncio (13 modules)  ×1", "import logging  ×1", "import ssl  ×1", "__main__.crawl  ×40", "__main__.parse  ×40"},
			[]string{"import asyncio.", "imports:"}},
		{"imports a minority of the time are one row", func(t *testing.T) *callgraph.Profile { return crawlerProfile(t, 1000) },
			[]string{"__main__.crawl  ×40", "import asyncio (15 modules)  ×1"},
			[]string{"import asyncio.", "import logging"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteBrief(&out, tt.p(t), BriefOptions{Lines: 12}); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("no %q in\n%s", want, out.String())
				}
			}
			for _, never := range tt.never {
				if strings.Contains(out.String(), never) {
					t.Errorf("%q in\n%s", never, out.String())
				}
			}
		})
	}
}

// TestShortenImport: a cut import frame's name keeps its prefix, the
// module count of a grouped one, and the part that tells it: a module
// path's end, a list's start.
func TestShortenImport(t *testing.T) {
	tests := []struct {
		name, in, prefix string
		width            int
		start, end       string // what the cut name starts and ends with
	}{
		{"fits", "import json", "import ", 20, "import json", "import json"},
		{"a module path loses its front", "import email.mime.nonmultipart", "import ", 24, "import ..", ".nonmultipart"},
		{"the module count stays", "import asyncio.base_events (12 modules)", "import ", 30, "import ..", "_events (12 modules)"},
		{"a count of one stays", "imports: json.decoder, re (1 module)", "imports: ", 26, "imports: ", "(1 module)"},
		{"a list loses its end", "import json, logging, argparse", "import ", 20, "import json, ", ".."},
		{"a module told apart by its file", "import plugin (a/plugin.py)", "import ", 20, "import plugin (a/", ".."},
		{"what imports shared names its modules", "import (finding and loading json, re, enum)", "import ", 22, "import (json, re", ".."},
		{"a group keeps its prefix and count", "imports: json, logging, 2 more (40 modules)", "imports: ", 34, "imports: json, ", ".. (40 modules)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shortenImport(tt.in, tt.prefix, tt.width)
			if !strings.HasPrefix(got, tt.start) || !strings.HasSuffix(got, tt.end) {
				t.Errorf("shortenImport(%q, %d) = %q, want it to start %q and end %q", tt.in, tt.width, got, tt.start, tt.end)
			}
			if Columns(got) > tt.width {
				t.Errorf("%q is %d columns, over %d", got, Columns(got), tt.width)
			}
		})
	}
}
