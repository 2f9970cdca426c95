package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/pyprof/pyprof/export"
)

// stdoutName is the output path that means standard output.
const stdoutName = "-"

// checkOutput checks, before any work, that path can be written: a usage
// error for a directory that does not exist or takes no file, an output
// error for a file the user may not write. Standard output always can.
func checkOutput(path string) error {
	if path == stdoutName {
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
	if path != stdoutName {
		exitOnSignal()
	}
	if err := checkOutput(path); err != nil {
		return err
	}
	if path == stdoutName {
		bw := bufio.NewWriter(stdout)
		err := write(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return outputError{fmt.Errorf("writing standard output: %w", err)}
		}
		return nil
	}
	if err := export.WriteFile(path, write); err != nil {
		return outputError{err}
	}
	return nil
}

// checkStdout refuses to write format to standard output where that
// cannot be what the user wants: pprof is gzipped binary, which a
// terminal would show as garbage.
func checkStdout(path string, format export.Format, stdout io.Writer) error {
	if path == stdoutName && format == export.Pprof && isTerminal(stdout) {
		return usagef("-o -: pprof is binary and standard output is a terminal: redirect it, or name a file")
	}
	return nil
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
		// Nothing asked for a signal ignored at start (forwardSignals
		// leaves them alone), so it is still ignored now.
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
