package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/sample"
)

func init() { commands["dump"] = dumpCommand }

func dumpCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dump")
	pidFlag := fs.String("pid", "", "") // as record spells it, and py-spy dump
	if err := fs.Parse(args); err != nil {
		return exitCode(stderr, flagError(fs, err))
	}
	pid, err := pidArg("dump", *pidFlag, fs.Args())
	if err != nil {
		return exitCode(stderr, err)
	}
	d, err := profiler.DumpStacks(pid)
	if err != nil {
		return exitCode(stderr, explainNotPython(pid, err))
	}
	w := bufio.NewWriter(stdout)
	writeDump(w, d)
	if err := w.Flush(); err != nil {
		return exitCode(stderr, fmt.Errorf("dump: %w: %w", errOutput, err))
	}
	return exitOK
}

// pidArg returns the process a command acts on, given as --pid (flag) or
// as its one argument (words), as dump and top take it.
func pidArg(cmd, flag string, words []string) (int, error) {
	if flag != "" {
		words = append([]string{flag}, words...)
	}
	if len(words) != 1 {
		return 0, usagef("%s: want one PID, got %d (see `pyprof help`)", cmd, len(words))
	}
	pid, err := strconv.Atoi(words[0])
	if err != nil || pid <= 0 {
		return 0, usagef("%s: %q is not a process id", cmd, words[0])
	}
	return pid, nil
}

// writeDump prints each thread's stack the way Python prints a traceback,
// most recent call last, so that it reads like one; a function is named as
// every profile names it (module and qualname), so that a row of the dump
// can be found in a profile of the same program.
func writeDump(w io.Writer, d *profiler.Dump) {
	fmt.Fprintf(w, "Process %d, Python %s: %s\n", d.PID, d.Version, plural(len(d.Threads), "thread"))
	for _, t := range d.Threads {
		fmt.Fprintf(w, "\nThread %d%s (%s)", t.TID, nameSuffix(t.Name), threadState(t, d.GIL))
		if len(t.Frames) == 0 && !t.Dropped {
			fmt.Fprintln(w, ": no Python frames")
			continue
		}
		fmt.Fprintln(w, ", most recent call last:")
		for _, f := range t.Frames {
			line := "?"
			if f.Line > 0 {
				line = strconv.Itoa(f.Line)
			}
			fmt.Fprintf(w, "  File \"%s\", line %s, in %s\n", report.Printable(f.Code.Filename), line, report.Printable(callgraph.FuncName(f.Code.Module, f.Code.Filename, f.Code.Qualname)))
		}
		if t.Dropped {
			fmt.Fprintln(w, "  ... newer frames kept changing while read")
		}
	}
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " " + report.Printable(name)
}

// threadState says whether the thread was running and held the GIL.
func threadState(t sample.ThreadStack, hasGIL bool) string {
	var parts []string
	if hasGIL && t.HasGIL {
		parts = append(parts, "holds the GIL")
	}
	if t.OnCPU {
		parts = append(parts, "on CPU")
	} else {
		parts = append(parts, "idle")
	}
	return strings.Join(parts, ", ")
}
