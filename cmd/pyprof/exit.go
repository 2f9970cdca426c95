package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/profiler"
)

// Exit statuses of pyprof's own failures; record otherwise exits with the
// program's status. doc.go documents them and a test pins them.
const (
	exitOK         = 0
	exitRegression = 1
	exitUsage      = 2
	exitEnv        = 3
	exitOutput     = 4
	// exitNoisy is diff --fail-above on time (or samples) when the runs
	// of a side lay further apart than the change judged: the gate could
	// not judge, which is neither a pass nor a regression.
	exitNoisy = 5
)

// errOutput marks a failure to write a profile.
var errOutput = errors.New("output")

// outputError is an errOutput that says what went wrong in its own words.
type outputError struct{ err error }

func (o outputError) Error() string      { return o.err.Error() }
func (o outputError) Unwrap() error      { return o.err }
func (outputError) Is(target error) bool { return target == errOutput }

// usageError marks an error in what the user asked for.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode maps an error to an exit status and prints it as one line,
// escaped: errors quote names from profiles, processes and the command line.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var h helpRequest
	if errors.As(err, &h) {
		fmt.Fprint(helpOut, commandHelp(h.cmd))
		return exitOK
	}
	var failed profiler.ProgramFailed
	if errors.As(err, &failed) {
		return failed.Status // the interpreter said why, as without pyprof
	}
	fmt.Fprintf(stderr, "pyprof: %s\n", report.Printable(err.Error()))
	var u usageError
	switch {
	case errors.As(err, &u), errors.Is(err, profiler.ErrUsage):
		return exitUsage
	case errors.Is(err, profiler.ErrEnvironment):
		return exitEnv
	case errors.Is(err, errOutput):
		return exitOutput
	}
	return exitUsage
}
