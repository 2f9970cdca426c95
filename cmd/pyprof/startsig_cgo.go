//go:build cgo

package main

/*
#include <signal.h>

// pyprof_ignored_at_start has bit N set for each signal N ignored when the
// process started. It is read by a constructor, before the Go runtime
// starts: the runtime then installs its own handler for most signals
// (SIGHUP and SIGINT excepted), and an ignored SIGTERM can no longer be
// told from a default one.
static unsigned long long pyprof_ignored_at_start;

__attribute__((constructor)) static void pyprof_read_ignored(void)
{
	for (int sig = 1; sig < 64 && sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			pyprof_ignored_at_start |= 1ULL << sig;
	}
}

static unsigned long long pyprof_ignored_mask(void) { return pyprof_ignored_at_start; }
*/
import "C"

import (
	"os"
	"os/signal"
	"syscall"
)

// ignoredAtStart reports whether sig was ignored when pyprof started.
func ignoredAtStart(sig os.Signal) bool {
	n, ok := sig.(syscall.Signal)
	if !ok || n <= 0 || n >= 64 {
		return false
	}
	return C.pyprof_ignored_mask()&(1<<uint(n)) != 0 || signal.Ignored(sig)
}
