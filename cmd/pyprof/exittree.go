package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/export/view"
)

// wantsTree reports whether record ends with the call tree: on a terminal
// unless -q or --report=false, anywhere with --report.
func (f *recordFlags) wantsTree(stderr io.Writer) bool {
	if f.quiet || !f.report {
		return false
	}
	return f.reportSet || isTerminal(stderr)
}

// exitTreeChrome is the rows of a screen the exit tree leaves for what is
// not tree: its header (two lines when it wraps), the note on idle
// waiting, the lines on threads not shown and on where the whole tree is,
// then record's summary and the command to look further.
const exitTreeChrome = 7

// writeExitTree prints where the time went, sized to the terminal, the
// threads that run the same code grouped (groupThreads). When the tree is
// cut, it names the command that prints the whole of it from the outputs
// written.
func writeExitTree(w io.Writer, p *callgraph.Profile, outs []output) {
	cols, rows := screenSize(w)
	opts := report.BriefOptions{Width: cols, WholeTree: wholeTreeLine(outs)}
	if rows > 0 {
		opts.Lines = max(8, min(report.DefaultBriefLines, rows-exitTreeChrome))
	}
	if !opts.Idle && p.Default != callgraph.Calls {
		// Folded before threads are grouped, so that each thread's idle
		// waiting stays its own (the report folds it the same way, and
		// folding twice changes nothing).
		p = view.FoldIdle(p)
	}
	tree, err := groupedBrief(printableNames(p), opts)
	w.Write(tree)
	if err != nil {
		fmt.Fprintf(w, "pyprof: %v\n", err)
	}
}

// printableNames returns a copy of p, sharing its trees, whose function,
// module, file and thread names are escaped as every line pyprof prints
// for people is: the program chose them, and one holding an escape
// sequence would drive the terminal. (Escaping twice changes nothing.)
func printableNames(p *callgraph.Profile) *callgraph.Profile {
	out := *p
	out.Funcs = make([]callgraph.Func, len(p.Funcs))
	for i, f := range p.Funcs {
		f.Name = report.Printable(f.Name)
		f.Filename = report.Printable(f.Filename)
		out.Funcs[i] = f
	}
	out.Threads = make([]*callgraph.Thread, len(p.Threads))
	for i, th := range p.Threads {
		t := *th
		t.Name = report.Printable(th.Name)
		out.Threads[i] = &t
	}
	return &out
}

// wholeTreeLine is the line under a cut tree: the command, ready to paste,
// that prints the whole tree from a profile written (pprof first, which
// keeps the calls; folded otherwise), or how to get one.
func wholeTreeLine(outs []output) string {
	for _, format := range []export.Format{export.Pprof, export.Folded} {
		for _, o := range outs {
			if o.format == format && !isStdout(o.path) {
				return "… cut to a screen: the whole tree is in `pyprof report --tree " + printableWord(o.path) + "`"
			}
		}
	}
	return "… cut to a screen: record with -o out.pb.gz, then `pyprof report --tree out.pb.gz` prints the whole tree"
}

// writeLookFurther names the command to read each profile written:
// pyprof's own first, since not everyone who profiles Python has Go. The
// Go command goes on a line of its own when both do not fit the terminal.
func writeLookFurther(w io.Writer, outs []output) {
	for _, o := range outs {
		if isStdout(o.path) {
			continue
		}
		switch o.format {
		case export.Pprof:
			own := "pyprof: look further: pyprof report " + printableWord(o.path)
			goTool := "go tool pprof -http=: " + printableWord(o.path)
			if line := own + "   or, with Go, " + goTool; report.Columns(line) <= terminalWidth(w) {
				fmt.Fprintln(w, line)
				return
			}
			fmt.Fprintf(w, "%s\npyprof: or, with Go: %s\n", own, goTool)
			return
		case export.SVG:
			fmt.Fprintf(w, "pyprof: look further: open %s in a browser\n", printableWord(o.path))
			return
		}
	}
}

// printableWord quotes a path for the shell and escapes what a terminal
// would act on.
func printableWord(path string) string {
	return report.Printable(shellQuote([]string{path}))
}

// terminalWidth is the width of the terminal w writes to, or
// report.DefaultWidth when w is not a terminal or its width is unknown.
func terminalWidth(w io.Writer) int {
	if cols, _ := screenSize(w); cols > 0 {
		return cols
	}
	return report.DefaultWidth
}

// tableWidth is the width that report and top fit their aligned tables
// to (report.Options.Width): the terminal's, or 0 off a terminal, which
// fits nothing: a log or a pipe keeps whole names, read later and not
// through a window of the terminal's width.
func tableWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 0
	}
	return terminalWidth(w)
}

// screenSize is the size of the terminal w writes to, each 0 when it is
// unknown: w is not a terminal, or the terminal says 0, as the
// pseudo-terminals of some CI runners and wrappers do when nobody sized
// them. A size of 0 is no screen to fit.
func screenSize(w io.Writer) (cols, rows int) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, 0
	}
	cols, rows, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0, 0
	}
	return max(cols, 0), max(rows, 0)
}
