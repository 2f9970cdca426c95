package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardSignals passes SIGTERM and SIGHUP to the program. A Ctrl-C at a
// terminal already reaches the program (it shares pyprof's process
// group), so SIGINT is forwarded only when it cannot have come from the
// terminal; a second SIGINT stops the program at once. When attached to a
// process (--pid), a signal only ends the sampling.
//
// A signal ignored when pyprof started stays ignored, for pyprof and for
// the program, as the shell that started pyprof meant (nohup, a job in the
// background of a script, trap "" INT): asking to be notified of it would
// install a handler, and a program started from a process with a handler
// begins with the signal at its default.
func forwardSignals(attached bool) (context.Context, <-chan os.Signal, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan os.Signal, 4)
	out := make(chan os.Signal, 4)
	if watched := notIgnored(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP); len(watched) > 0 {
		signal.Notify(in, watched...)
	}
	go func() {
		interrupts := 0
		for sig := range in {
			if attached {
				cancel()
				continue
			}
			if sig == syscall.SIGINT {
				interrupts++
				if interrupts > 1 {
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
	return ctx, out, func() { signal.Stop(in); cancel() }
}

// notIgnored returns the signals of sigs that are not ignored now. Go's
// runtime leaves SIGHUP and SIGINT ignored when pyprof starts with them
// ignored, until signal.Notify asks for them.
func notIgnored(sigs ...os.Signal) []os.Signal {
	var out []os.Signal
	for _, sig := range sigs {
		if !signal.Ignored(sig) {
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
