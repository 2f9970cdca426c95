//go:build !cgo

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// startIgnored holds whether SIGHUP and SIGINT were ignored at start, read
// before anything asks for them: once forwardSignals catches them to pass
// them on, signal.Ignored says they are not.
var startIgnored = map[os.Signal]bool{
	syscall.SIGHUP: signal.Ignored(syscall.SIGHUP),
	syscall.SIGINT: signal.Ignored(syscall.SIGINT),
}

// ignoredAtStart reports whether sig was ignored when pyprof started.
// Without cgo nothing runs before the Go runtime, which keeps only SIGHUP
// and SIGINT ignored as it found them and installs its own handler for the
// rest: other signals ignored at start cannot be told apart here.
func ignoredAtStart(sig os.Signal) bool {
	if ignored, ok := startIgnored[sig]; ok {
		return ignored
	}
	return signal.Ignored(sig)
}
