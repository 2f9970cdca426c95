package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals pyprof passes to the program it runs. SIGINT
// and SIGQUIT are typed at a terminal (Ctrl-C, Ctrl-\) and reach the
// program from there when it shares the terminal's foreground process
// group; the others are sent to pyprof alone.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM}

// fromTerminal are the signals a terminal sends to its foreground group.
func fromTerminal(sig os.Signal) bool { return sig == syscall.SIGINT || sig == syscall.SIGQUIT }

// ends are the signals that end sampling a process pyprof attached to
// (--pid): it runs no program to pass them to.
func ends(sig os.Signal) bool {
	return sig == syscall.SIGINT || sig == syscall.SIGTERM || sig == syscall.SIGHUP || sig == syscall.SIGQUIT
}

// forwardSignals passes the forwarded signals to the program: a second
// SIGINT or SIGQUIT stops it at once. Unhandled, SIGQUIT would make Go's
// runtime print every goroutine's stack and exit, leaving the program
// running and its profile unwritten. When attached to a process (--pid),
// a signal that would end a program ends the sampling.
//
// A signal ignored when pyprof started stays ignored by the program, as
// the shell that started pyprof meant (nohup, a job in the background of a
// script, trap "" TERM): signal.Ignore sets it ignored again where Go's
// runtime had put its own handler, and the program inherits that. Once the
// program runs, catchIgnored has pyprof take such signals too and pass
// them on, never acting on them itself: the program ignores them, as it
// would without pyprof, unless it set a handler of its own (a server that
// shuts down cleanly on SIGINT), which then runs, as it would.
func forwardSignals(attached bool) (ctx context.Context, signals <-chan os.Signal, catchIgnored, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan os.Signal, 4)
	out := make(chan os.Signal, 4)
	var ignored []os.Signal
	for _, sig := range forwarded {
		if ignoredAtStart(sig) {
			signal.Ignore(sig)
			ignored = append(ignored, sig)
		}
	}
	if watched := notIgnored(forwarded...); len(watched) > 0 {
		signal.Notify(in, watched...)
	}
	var once sync.Once
	catchIgnored = func() {
		if !attached && len(ignored) > 0 {
			once.Do(func() { signal.Notify(in, ignored...) })
		}
	}
	go func() {
		typed := map[os.Signal]int{}
		for sig := range in {
			if attached {
				if ends(sig) {
					cancel()
				}
				continue
			}
			if fromTerminal(sig) {
				// Twice stops pyprof, unless the shell meant it ignored.
				if typed[sig]++; typed[sig] > 1 && !slices.Contains(ignored, sig) {
					cancel()
					continue
				}
				if terminalInterruptsProgram(controllingTerminal) {
					continue
				}
			}
			out <- sig
		}
	}()
	return ctx, out, catchIgnored, func() { signal.Stop(in); cancel() }
}

// notIgnored returns the signals of sigs that were not ignored when pyprof
// started.
func notIgnored(sigs ...os.Signal) []os.Signal {
	var out []os.Signal
	for _, sig := range sigs {
		if !ignoredAtStart(sig) {
			out = append(out, sig)
		}
	}
	return out
}

// controllingTerminal names the terminal of pyprof's session, whatever its
// standard input is.
const controllingTerminal = "/dev/tty"

// terminalInterruptsProgram reports whether a Ctrl-C typed at tty reaches
// the program by itself: pyprof runs in that terminal's foreground process
// group, which the program shares. It asks the terminal, not standard
// input, which may be a file or a pipe (pyprof record ... </dev/null) while
// the terminal still sends its SIGINT to the whole group. With no
// controlling terminal, a SIGINT can only have been sent to pyprof alone.
func terminalInterruptsProgram(tty string) bool {
	fd, err := unix.Open(tty, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
