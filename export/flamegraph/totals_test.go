package flamegraph

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/internal/exporttest"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/export/view"
)

// eventLoop is an asyncio program: its event loop waits in its selector
// with nothing ready (idle waiting, which view.FoldIdle puts apart), runs
// a task's steps, and the program sleeps where it asked to.
func eventLoop(t *testing.T) *callgraph.Profile {
	t.Helper()
	const loop = "__main__.<module>;asyncio.runners.run;asyncio.base_events.BaseEventLoop._run_once"
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("selectors.EpollSelector.select", "selectors.py", 451, callgraph.KindPython).
		Fn("select.epoll.poll", "", 0, callgraph.KindNative).
		Fn("time.sleep", "", 0, callgraph.KindNative).
		Add(t, "MainThread", "__main__.<module>", 1, 30*ms).
		Add(t, "MainThread", loop, 40, 2*ms).
		Add(t, "MainThread", loop+";selectors.EpollSelector.select", 40, 1*ms).
		Add(t, "MainThread", loop+";selectors.EpollSelector.select;select.epoll.poll", 40, 80*ms).
		Add(t, "MainThread", loop+";asyncio.events.Handle._run;__main__.crawl", 20, 150*ms).
		Add(t, "MainThread", loop+";asyncio.events.Handle._run;__main__.crawl;time.sleep", 4, 40*ms).Profile
}

// overrun is a profile whose callee outlasted its caller by a tick of
// clock skew: widths come from self times, which never go below zero.
func overrun(t *testing.T) *callgraph.Profile {
	t.Helper()
	p := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Add(t, "MainThread", "app.main", 1, 10*ms).
		Add(t, "MainThread", "app.main;app.work", 5, 90*ms).Profile
	p.Threads[0].Root.Children[0].Total[callgraph.Wall] -= 15 * ms // main 85ms, work 90ms
	return p
}

// TestTotalsAreTheTextViews checks that the graph's total is the one
// pyprof report and the call tree at exit show for the same recording, the
// flame graph record writes being a view with the idle waiting apart as
// theirs is: its subtitle names that total and the idle waiting drawn
// beside it, and a frame's shares on hover are of that total, as the
// report's are.
func TestTotalsAreTheTextViews(t *testing.T) {
	tests := []struct {
		name     string
		p        *callgraph.Profile
		value    callgraph.Value
		idle     bool   // whether the subtitle names idle waiting apart
		frame    string // a frame whose hover must agree with the report's row
		notHover string // what no hover text may say
	}{
		{"an event loop's waiting apart", eventLoop(t), callgraph.Wall, true, "__main__.crawl",
			"[idle: event loop waiting for I/O or timers] | calls"},
		{"calls made while waiting are calls", eventLoop(t), callgraph.Calls, false, "select.epoll.poll", "apart from the total"},
		{"a callee that outlasted its caller", overrun(t), callgraph.Wall, false, "app.work", "idle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := export.WriterFor(export.SVG)(&out, tt.p, export.Options{Value: &tt.value}); err != nil {
				t.Fatal(err)
			}
			svg := out.String()
			tab, err := report.Functions(view.FoldIdle(tt.p), tt.value, "")
			if err != nil {
				t.Fatal(err)
			}
			want := tt.value.Info().Type + ", total " + report.Human(tt.value, tab.Total)
			if tt.idle {
				if len(tab.Idle) != 1 {
					t.Fatalf("the report puts %d kinds of idle waiting apart, want 1", len(tab.Idle))
				}
				want += "; idle, apart from the total: " + report.Human(tt.value, tab.Idle[0].Value) + " in [idle: …] frames"
			}
			sub := regexp.MustCompile(`<text id="subtitle"[^>]*>([^<]*)</text>`).FindStringSubmatch(svg)
			if sub == nil || sub[1] != xmlText(want) {
				t.Errorf("subtitle %q, want %q (the report's total)", sub, want)
			}
			hovers := regexp.MustCompile(`<title>([^<]*)</title>`).FindAllStringSubmatch(svg, -1)
			want = xmlText(rowHover(t, tab, tt.frame))
			if !slices.ContainsFunc(hovers, func(h []string) bool { return h[1] == want }) {
				t.Errorf("no frame says %s", want)
			}
			for _, h := range hovers {
				if strings.Contains(h[1], xmlText(tt.notHover)) {
					t.Errorf("a frame says %s", h[1])
				}
			}
		})
	}
}

// rowHover is the hover text of a function's only frame, from the
// report's row of it: its calls, and its self and total times with their
// shares of the report's total.
func rowHover(t *testing.T, tab *report.Table, name string) string {
	t.Helper()
	for _, r := range tab.Rows {
		if r.Func.Name != name {
			continue
		}
		parts := []string{name}
		if r.Func.Filename != "" {
			parts = append(parts, fmt.Sprintf("%s:%d", r.Func.Filename, r.Func.StartLine))
		}
		pct := func(x int64) string { return fmt.Sprintf("%.2f%%", 100*float64(x)/float64(tab.Total)) }
		parts = append(parts, fmt.Sprintf("calls %d", r.Calls),
			fmt.Sprintf("self %s (%s)", report.Human(tab.Value, r.Flat), pct(r.Flat)),
			fmt.Sprintf("total %s (%s)", report.Human(tab.Value, r.Cum), pct(r.Cum)))
		return strings.Join(parts, " | ")
	}
	t.Fatalf("the report has no row %s", name)
	return ""
}
