package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/profiler"
)

func init() { commands["top"] = topCommand }

// topFlags are top's flags.
type topFlags struct {
	pid          string
	rate         int
	interval     time.Duration
	duration     time.Duration
	top          int
	sortBy       string
	idle         bool
	subprocesses bool
}

func topCommand(args []string, stdout, stderr io.Writer) int {
	var f topFlags
	fs := newFlags("top")
	fs.StringVar(&f.pid, "pid", "", "")
	fs.IntVar(&f.rate, "rate", 100, "")
	secondsVar(fs, &f.interval, "interval", time.Second)
	secondsVar(fs, &f.duration, "duration", 0)
	fs.IntVar(&f.top, "top", report.DefaultTop, "")
	fs.StringVar(&f.sortBy, "sort", report.SortFlat, "")
	fs.BoolVar(&f.idle, "idle-threads", false, "")
	// --idle was this flag's first name; elsewhere --idle keeps pools' idle
	// waiting in place, so it is no longer listed here, but still works.
	fs.BoolVar(&f.idle, "idle", false, "")
	fs.MarkHidden("idle")
	fs.BoolVar(&f.subprocesses, "subprocesses", false, "")
	if err := fs.Parse(args); err != nil {
		return exitCode(stderr, flagError(fs, err))
	}
	pid, err := f.target(fs.Args())
	if err != nil {
		return exitCode(stderr, err)
	}
	ctx, stop := stopOnSignal(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	so := profiler.SampleOptions{Rate: f.rate, Idle: f.idle, Duration: f.duration, Subprocesses: f.subprocesses}
	screen := isTerminal(stdout)
	var showErr error
	err = profiler.Watch(ctx, pid, so, f.interval, func(iv profiler.Interval) {
		if showErr == nil {
			showErr = f.show(stdout, pid, iv, screen)
		}
		if iv.Exited {
			fmt.Fprintf(stderr, "pyprof: pid %d exited after %s\n", pid, iv.Since.Round(time.Millisecond))
		}
	})
	if err == nil {
		err = showErr
	}
	return exitCode(stderr, explainNotPython(pid, err))
}

// stopOnSignal returns a context cancelled by any of sigs but those
// ignored when pyprof started: asking to be notified of a signal stops
// ignoring it, and top started under nohup would end at the hangup nohup
// was meant to survive. With nothing to watch it asks for nothing, since
// signal.NotifyContext of no signal watches every signal.
func stopOnSignal(sigs ...os.Signal) (context.Context, context.CancelFunc) {
	watched := notIgnored(sigs...)
	if len(watched) == 0 {
		return context.WithCancel(context.Background())
	}
	return signal.NotifyContext(context.Background(), watched...)
}

// target checks the flags and returns the process to watch, given as
// --pid or as the one argument.
func (f *topFlags) target(words []string) (int, error) {
	pid, err := pidArg("top", f.pid, words)
	switch {
	case err != nil:
		return 0, err
	case f.rate <= 0 || f.rate > 10000:
		return 0, usagef("top: --rate %d: want 1 to 10000 samples a second", f.rate)
	case f.interval < 10*time.Millisecond || f.interval < 2*time.Second/time.Duration(f.rate):
		return 0, usagef("top: --interval %v: want 10ms or more, and two samples' time (%v at --rate %d)",
			f.interval, max(10*time.Millisecond, 2*time.Second/time.Duration(f.rate)), f.rate)
	case f.duration < 0:
		return 0, usagef("top: --duration %v: want a positive duration", f.duration)
	case f.top < 0:
		return 0, checkTop("top", f.top)
	case !slices.Contains(report.SortOrders, f.sortBy):
		return 0, usagef("top: --sort %s: use one of %v", f.sortBy, report.SortOrders)
	}
	return pid, nil
}

// show draws one interval: over the last one on a terminal, one after the
// other otherwise (a log, a pipe). On a terminal it fits its width as
// report's table does (tableWidth). A failure to write is an output error.
func (f *topFlags) show(w io.Writer, pid int, iv profiler.Interval, screen bool) error {
	width := tableWidth(w)
	return writeText(w, func(w io.Writer) error { return f.draw(w, pid, iv, screen, width) })
}

// draw writes what show shows, fitted to width columns (0: no limit).
func (f *topFlags) draw(w io.Writer, pid int, iv profiler.Interval, screen bool, width int) error {
	if screen {
		fmt.Fprint(w, "\033[H\033[2J")
	} else if iv.N > 1 {
		fmt.Fprintln(w)
	}
	st := iv.Stats
	header := []clause{
		{fmt.Sprintf("pyprof top: pid %d", pid), "Python " + iv.Version.String(), iv.Since.Round(100 * time.Millisecond).String()},
		{fmt.Sprintf("last %s: %s samples at %.0f Hz (%s missed)", st.Elapsed.Round(10*time.Millisecond), count(st.Samples), st.Rate(), count(st.Missed)),
			plural(len(iv.Profile.Threads), "thread")},
	}
	for _, line := range fitClauses(header, width, "  ") {
		fmt.Fprintln(w, line)
	}
	if len(iv.Profile.Threads) == 0 {
		what := "no thread ran Python code"
		if f.idle {
			what = "no Python thread was seen"
		}
		_, err := fmt.Fprintf(w, "(%s in this interval)\n", what)
		return err
	}
	return report.Write(w, iv.Profile, report.Options{Top: reportTop(f.top), Sort: f.sortBy, Aligned: true, Width: width})
}
