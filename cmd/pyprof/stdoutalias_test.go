package main

import (
	"errors"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestStdoutAliasRefusesPprofOnTerminal: every name of standard output
// refuses pprof's binary on a terminal, as -o - does.
func TestStdoutAliasRefusesPprofOnTerminal(t *testing.T) {
	tty := openTerminal(t)
	for _, path := range append([]string{stdoutName}, stdoutAliases...) {
		t.Run(path, func(t *testing.T) {
			f := &recordFlags{outputs: []string{path}, format: "pprof"}
			_, err := f.resolveOutputs(tty)
			var u usageError
			if !errors.As(err, &u) {
				t.Fatalf("-o %s --format pprof on a terminal: got %v, want a usage error", path, err)
			}
		})
	}
}

// openTerminal opens the far end of a new pseudo-terminal.
func openTerminal(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}
