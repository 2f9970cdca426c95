package main

import (
	"bytes"
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

// writeExitTree prints where the time went, sized to the terminal, the
// threads that run the same code grouped (groupThreads). When the tree is
// cut, it names the command that prints the whole of it from the outputs
// written.
func writeExitTree(w io.Writer, p *callgraph.Profile, outs []output) {
	opts := report.BriefOptions{WholeTree: wholeTreeLine(outs)}
	if file, ok := w.(*os.File); ok {
		if cols, rows, err := term.GetSize(int(file.Fd())); err == nil {
			opts.Width = cols
			// Room for the header, the summary and the hints.
			opts.Lines = max(8, min(report.DefaultBriefLines, rows-6))
		}
	}
	if !opts.Idle && p.Default != callgraph.Calls {
		// Folded before threads are grouped, so that each thread's idle
		// waiting stays its own (the report folds it the same way, and
		// folding twice changes nothing).
		p = view.FoldIdle(p)
	}
	tree, err := groupedBrief(printableNames(p), func(b *bytes.Buffer, p *callgraph.Profile) error {
		return report.WriteBrief(b, p, opts)
	})
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
				return "… more lines than a screen: the whole tree is in `pyprof report --tree " + printableWord(o.path) + "`"
			}
		}
	}
	return "… more lines than a screen: record with -o out.pb.gz, then `pyprof report --tree out.pb.gz` prints the whole tree"
}

// writeLookFurther names the command to read each profile written:
// pyprof's own first, since not everyone who profiles Python has Go.
func writeLookFurther(w io.Writer, outs []output) {
	for _, o := range outs {
		if isStdout(o.path) {
			continue
		}
		switch o.format {
		case export.Pprof:
			fmt.Fprintf(w, "pyprof: look further: pyprof report %s   or, with Go, go tool pprof -http=: %s\n", printableWord(o.path), printableWord(o.path))
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

// terminalWidth is the width of the terminal w writes to, or 0.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return cols
}
