package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/export"
)

// stdoutName is the output path that means standard output.
const stdoutName = "-"

// stdoutAliases are the paths that lead to standard output too. Opening
// one would truncate the file standard output appends to, and send the
// program's own output into the profile: they are written as "-" is.
var stdoutAliases = []string{"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"}

// isStdout reports whether path means standard output.
func isStdout(path string) bool {
	return path == stdoutName || slices.Contains(stdoutAliases, path)
}

// checkOutput checks, before any work, that path can be written: a usage
// error for a directory that does not exist or takes no file, an output
// error for a file the user may not write. Standard output always can.
func checkOutput(path string) error {
	if isStdout(path) {
		return nil
	}
	err := export.CheckWritable(path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, export.ErrNotWritable):
		return outputError{err}
	}
	return usageError{err}
}

// writeFile writes one output: to stdout for "-", else to the file as
// export.WriteFile writes it. Failures are output errors.
func writeFile(path string, stdout io.Writer, write func(io.Writer) error) error {
	if !isStdout(path) {
		exitOnSignal()
	}
	if err := checkOutput(path); err != nil {
		return err
	}
	if isStdout(path) {
		bw := bufio.NewWriter(stdout)
		err := write(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return stdoutError(err)
		}
		return nil
	}
	if err := export.WriteFile(path, write); err != nil {
		if cause := systemCause(err, path); cause != err {
			return outputError{fmt.Errorf("writing %s: %w", path, cause)}
		}
		return outputError{err}
	}
	return nil
}

// stdoutError is the output error of a failed write to standard output.
func stdoutError(err error) error {
	return outputError{fmt.Errorf("writing standard output: %w", systemCause(err, os.Stdout.Name()))}
}

// writeText runs write, which writes a command's text (a report, a diff's
// summary) to stdout, and tells a failure to write, an output error, from
// write's own errors, returned as they are: a usage error must not become
// an output error, nor a full disk a usage error.
func writeText(stdout io.Writer, write func(io.Writer) error) error {
	w := &writeFailure{w: stdout}
	err := write(w)
	if w.err != nil {
		return stdoutError(w.err)
	}
	return err
}

// writeFailure is a writer that remembers its first failure.
type writeFailure struct {
	w   io.Writer
	err error
}

func (f *writeFailure) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}

// systemCause is the system's own reason for err ("no space left on
// device") when err is an operation on the file named, which the message
// already names: "write /dev/full" would say it a second time.
func systemCause(err error, name string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == name {
		return pe.Err
	}
	return err
}

// checkStdout refuses to write format to standard output where that
// cannot be what the user wants: pprof is gzipped binary, which a
// terminal would show as garbage.
func checkStdout(path string, format export.Format, stdout io.Writer) error {
	if isStdout(path) && format == export.Pprof && isTerminal(stdout) {
		return usagef("-o %s: pprof is binary and standard output is a terminal: redirect it, or name a file", path)
	}
	return nil
}

// checkStdoutOpen refuses standard output when pyprof started with it
// closed: the Go runtime then opens /dev/null read-write in its place, and
// the profile would be lost without a word. A shell's >/dev/null opens it
// write-only, which is the user's choice and stays allowed.
func checkStdoutOpen(path string) error {
	var out, null unix.Stat_t
	if unix.Fstat(1, &out) != nil || unix.Stat(os.DevNull, &null) != nil {
		return nil
	}
	flags, err := unix.FcntlInt(1, unix.F_GETFL, 0)
	if err != nil || flags&unix.O_ACCMODE != unix.O_RDWR || out.Dev != null.Dev || out.Ino != null.Ino {
		return nil
	}
	return outputError{fmt.Errorf("-o %s: standard output is closed, and the profile would be lost: open it (a file or a pipe), or name a file", path)}
}

// stdoutFormat explains that "-" has no extension to take a format from.
func stdoutFormat(override string) error {
	if override == "" {
		return usagef("-o -: standard output has no extension to tell the format: add --format pprof|folded|svg|speedscope")
	}
	return nil
}

var exitOnSignalOnce sync.Once

// exitOnSignal makes SIGINT, SIGTERM and SIGHUP end pyprof from now on,
// as they would have killed it, with status 128+N, but after removing the
// temporary files of the outputs being written. Commands call it when all
// that is left to do is write (record passes these signals to the program
// until then). A signal that pyprof started with ignored stays ignored.
func exitOnSignal() {
	exitOnSignalOnce.Do(func() {
		// A signal ignored at start is left out: forwardSignals catches
		// it only to pass it on to the program, and ignoredAtStart
		// remembers the start, not the handler installed since.
		sigs := notIgnored(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		if len(sigs) == 0 {
			return
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, sigs...)
		go func() {
			sig := <-c
			export.RemoveTemporaries()
			fmt.Fprintf(os.Stderr, "pyprof: %v while writing outputs; unfinished ones removed\n", sig)
			os.Exit(128 + int(sig.(syscall.Signal)))
		}()
	})
}
