//go:build !cgo

package main

import (
	"os"
	"os/signal"
)

// ignoredAtStart reports whether sig was ignored when pyprof started.
// Without cgo nothing runs before the Go runtime, which keeps only SIGHUP
// and SIGINT ignored as it found them and installs its own handler for the
// rest: other signals ignored at start cannot be told apart here.
func ignoredAtStart(sig os.Signal) bool { return signal.Ignored(sig) }
