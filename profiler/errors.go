package profiler

import (
	"errors"
)

// The classes of error the CLI turns into exit statuses.

// Error classes the CLI turns into exit codes.
var (
	// ErrUsage: the command line is wrong.
	ErrUsage = errors.New("usage")
	// ErrEnvironment: this machine cannot run the recording as asked.
	ErrEnvironment = errors.New("environment")
)

// usage and environment wrap an error into its class, keeping its text.
func usage(err error) error { return classified{err, ErrUsage} }

func environment(err error) error { return classified{err, ErrEnvironment} }

type classified struct{ err, class error }

func (c classified) Error() string { return c.err.Error() }

func (c classified) Unwrap() []error {
	return []error{c.err, c.class}
}
