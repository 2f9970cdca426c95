package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/sample"
)

// Two files of the same name in different packages, deep in a project:
// top's rows tell them apart by the folder that differs.
const (
	invoicesFile = "/home/someone/src/shop/services/billing/invoices/renderer.py"
	shippingFile = "/home/someone/src/shop/services/billing/shipping/renderer.py"
)

// longNamesInterval is one interval of top over a program whose functions
// have long names in long paths.
func longNamesInterval() profiler.Interval {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Samples, callgraph.Wall}, Default: callgraph.Wall}
	root := &callgraph.Node{}
	for i, f := range []callgraph.Func{
		{Name: "shop.services.billing.invoices.renderer.InvoiceRenderer.render_line_items", Filename: invoicesFile, StartLine: 120},
		{Name: "shop.services.billing.shipping.renderer.LabelRenderer.render_address_block", Filename: shippingFile, StartLine: 48},
		{Name: "shop.main", Filename: "/home/someone/src/shop/main.py", StartLine: 1},
	} {
		f.Kind = callgraph.KindPython
		n := root.Child(p.AddFunc(f), int32(i+1))
		n.Total[callgraph.Samples] = int64(60 - 20*i)
		n.Total[callgraph.Wall] = int64(60-20*i) * 10_000_000
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	return profiler.Interval{
		Profile: p,
		Stats:   sample.Stats{Samples: 100, Elapsed: time.Second, Period: 10 * time.Millisecond},
		N:       1,
		Since:   12 * time.Second,
		Version: sample.Version{Major: 3, Minor: 12, Micro: 1, Hex: 0x030c01f0},
	}
}

// TestTopFitsTerminal: on a terminal, top fits every line to its width as
// report does, the files shortened to what tells them apart; a terminal
// that does not say its width gets report.DefaultWidth.
func TestTopFitsTerminal(t *testing.T) {
	tests := []struct {
		name  string
		cols  int
		width int // the widest line allowed
	}{
		{"wide", 100, 100},
		{"default", 80, 80},
		{"width unknown", 0, report.DefaultWidth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := topFlags{top: report.DefaultTop, sortBy: report.SortFlat}
			text := onTerminal(t, tt.cols, 24, func(tty *os.File) {
				if err := f.show(tty, 4242, longNamesInterval(), true); err != nil {
					t.Error(err)
				}
			})
			text = strings.TrimPrefix(text, "\033[H\033[2J")
			for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
				if n := report.Columns(line); n > tt.width {
					t.Errorf("a line of %d columns, over %d: %q", n, tt.width, line)
				}
			}
			for _, loc := range []string{"invoices/renderer.py:120", "shipping/renderer.py:48"} {
				if !strings.Contains(text, loc) {
					t.Errorf("no row ends with %s, which tells the renderers apart:\n%s", loc, text)
				}
			}
		})
	}
}

// TestTopOffTerminalKeepsNames: a log or a pipe gets whole names and paths,
// since it is read later and not through a terminal's window.
func TestTopOffTerminalKeepsNames(t *testing.T) {
	var out bytes.Buffer
	f := topFlags{top: report.DefaultTop, sortBy: report.SortFlat}
	iv := longNamesInterval()
	if err := f.show(&out, 4242, iv, false); err != nil {
		t.Fatal(err)
	}
	for _, fn := range iv.Profile.Funcs {
		if !strings.Contains(out.String(), fn.Name) || !strings.Contains(out.String(), fn.Filename) {
			t.Errorf("%s of %s is not whole in:\n%s", fn.Name, fn.Filename, out.String())
		}
	}
}
