package sample

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrProcessExited reports that the target process ended. Run returns it
// together with everything sampled before the exit, so the CLI can write the
// profile and print one line.
var ErrProcessExited = errors.New("process exited")

// ErrNotPython reports that no CPython runtime was found in the process:
// neither a libpython nor a python executable exporting _PyRuntime is
// mapped (yet: a freshly spawned process may not have exec'd python).
var ErrNotPython = errors.New("no CPython runtime found")

// errNotLoadedYet marks a runtime whose memory reads as zeros where its
// debug offsets start with their cookie: the dynamic loader is still
// mapping the interpreter of a process that has just exec'd it (one
// sample recording in about 200 met it). AttachWait tries again; for a
// process running for a while it is reported as it is.
var errNotLoadedYet = errors.New("the runtime's memory is not loaded yet")

// errShortRead marks a read of memory that is not mapped or went away: the
// target freed what we were following. Walks treat it as an inconsistent
// stack and retry; it never reaches the caller of Run.
var errShortRead = errors.New("short read")

// ErrInconsistent reports memory that changed while it was read. Inside
// the package it marks a stack to read again; Sample returns it when the
// thread list itself kept changing (threads starting and ending) past the
// retries. Run counts such a sample as dropped; it is never fatal.
var ErrInconsistent = errors.New("target changed while read")

// UnsupportedVersionError reports an interpreter pyprof cannot sample.
type UnsupportedVersionError struct {
	PID     int
	Version Version
	Reason  string
}

// Error says which Python the process runs and why it is refused.
func (e *UnsupportedVersionError) Error() string {
	return fmt.Sprintf("pid %d runs Python %s: %s", e.PID, e.Version, e.Reason)
}

// PermissionError reports that the kernel refused to let pyprof read the
// target's memory or its /proc/PID/maps (both need ptrace access). Its
// message says what to do, in one line.
type PermissionError struct {
	PID int
	Err error // EPERM from process_vm_readv, or the error opening maps
}

// Error names the missing ptrace permission and the ways to get it: root
// without CAP_SYS_PTRACE is in a container that dropped it; root with it
// was refused by something else (a security module, a process in another
// user namespace), which pyprof cannot change.
func (e *PermissionError) Error() string {
	switch {
	case os.Geteuid() == 0 && !hasCapability(capSysPtrace):
		return fmt.Sprintf("reading pid %d: %v: sampling needs ptrace access, which root here lacks "+
			"(no CAP_SYS_PTRACE, as in a container by default): start the container with --cap-add SYS_PTRACE",
			e.PID, e.Err)
	case os.Geteuid() == 0:
		return fmt.Sprintf("reading pid %d: %v: the kernel refuses even root with CAP_SYS_PTRACE here "+
			"(a security module, or a process of another user namespace or sandbox): sample it from where it runs",
			e.PID, e.Err)
	}
	return fmt.Sprintf("reading pid %d: %v: sampling needs ptrace access "+
		"(CAP_SYS_PTRACE): run pyprof as root or as the target's user with "+
		"kernel.yama.ptrace_scope=0, or start the container with --cap-add SYS_PTRACE",
		e.PID, e.Err)
}

// Unwrap returns the underlying error.
func (e *PermissionError) Unwrap() error { return e.Err }

// capSysPtrace is CAP_SYS_PTRACE's bit in the capability sets.
const capSysPtrace = 19

// hasCapability reports whether capability bit cap is in this process's
// effective set (the CapEff line of /proc/self/status).
func hasCapability(cap uint) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			set, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			return err == nil && set&(1<<cap) != 0
		}
	}
	return false
}
