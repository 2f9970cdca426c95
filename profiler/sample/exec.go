package sample

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// A process can exec: the pid stays, everything in its memory is
// replaced, and the addresses the sampler read by now lead nowhere (its
// reads fail or see garbage, which looks like a stack that keeps
// changing). An exec'd Python (a launcher that execs the interpreter,
// os.execv of sys.executable, a server re-executing itself to upgrade) is
// attached again and its stacks sampled as the same process's; one that
// exec'd something else than Python ends the sampling, as an exit would.

// execed reports whether the process no longer has the image the sampler
// attached to where it was: an exec maps a new one, elsewhere, since
// mappings are placed at random (or, with randomization off, the same
// file at the same address, which the sampler then reads rightly still).
func (p *Process) execed() bool {
	maps, err := readMaps(p.pid)
	if err != nil || len(maps) == 0 {
		return false // gone, or going (its memory first): exited() says so
	}
	return firstMapping(maps, p.image) != p.imageStart
}

// replaced reports whether the process has exec'd since it was attached,
// told by its stack: an exec makes a new one, placed at random, with the
// new program's arguments and environment at its top. execed cannot tell
// an exec of the same executable mapped at a fixed address (a Python
// built without position independence, such as the standalone 3.14
// builds): its mappings lie where the old ones did. A read that fails
// tells nothing (the process is gone: exited says so).
func (p *Process) replaced() bool {
	now, err := stackPlace(p.pid)
	// A process that exits shows no stack at all (its memory goes before
	// its state says so): it is gone, not replaced, which exited tells.
	if err != nil || p.stack == "" || now == p.stack || now == noStack || gone(p.pid) {
		return false
	}
	// An exec'd process runs a file and shows the same new stack when
	// read again; one read that differs and is not confirmed (once in
	// about forty hybrid runs here, at a program's exit) is no exec.
	again, err := stackPlace(p.pid)
	return err == nil && again == now && executableOf(p.pid) != ""
}

// noStack is what stackPlace reads of a process whose memory is gone.
const noStack = "0 0 0 0 0"

// stackPlace returns, from /proc/PID/stat, where the process's stack
// begins and where its arguments and environment lie (fields 28 and 48 to
// 51, shown to whoever may read its memory).
func stackPlace(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", err
	}
	// The command name, field 2, may hold spaces and parentheses: the
	// fields are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(b[i+1:])) // field 3 first
	if len(fields) < 51-2 {
		return "", fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	at := func(n int) string { return fields[n-3] }
	return strings.Join([]string{at(28), at(48), at(49), at(50), at(51)}, " "), nil
}

// execGrace is how long after an exec the new image may take to show a
// Python runtime: the interpreter's executable is mapped at once, the
// libpython holding the runtime only once the dynamic loader got to it.
const execGrace = 2 * time.Second

// reattach follows an exec of the sampled process. A new image that shows
// no Python runtime yet is tried again at the next ticks, for execGrace;
// one that is not Python after that, or a Python this build cannot read,
// ends the run.
func (r *run) reattach() error {
	np, err := Attach(r.p.pid)
	if r.execSeen.IsZero() {
		r.execSeen = time.Now()
		r.execTarget = executableOf(r.p.pid)
	}
	switch {
	case err == nil:
		r.execSeen = time.Time{}
		np.mem.calls.Add(r.p.Reads() - r.reads0) // Reads go on counting
		r.reads0 = 0
		r.p.Close()
		r.p = np
		r.stats.Execs++
		r.stats.Python = np.Version().String()
		r.stats.Executable = executableOf(np.pid)
		return nil
	case errors.Is(err, ErrProcessExited):
		return fmt.Errorf("sampling pid %d: it exec'd, then exited: %w", r.p.pid, ErrProcessExited)
	case errors.As(err, new(*UnsupportedVersionError)),
		errors.Is(err, ErrNotPython) && time.Since(r.execSeen) > execGrace:
		r.stats.ExecedAway = executableOr(r.p.pid, "a program")
		return fmt.Errorf("sampling pid %d: it exec'd a program pyprof cannot sample (%v): %w", r.p.pid, err, ErrProcessExited)
	}
	return nil
}

// execedAway ends a run that stops at an exec (Options.StopAtExec).
func (r *run) execedAway() error {
	if r.execSeen.IsZero() {
		r.execSeen = time.Now()
	}
	r.stats.ExecedAway = executableOr(r.p.pid, "another program")
	return fmt.Errorf("sampling pid %d: it exec'd: %w", r.p.pid, ErrProcessExited)
}

// executableOr returns the file process pid runs, or instead when that is
// unreadable (the process is gone).
func executableOr(pid int, instead string) string {
	if exe := executableOf(pid); exe != "" {
		return exe
	}
	return instead
}

// executableOf returns the file process pid runs, "" when unreadable.
func executableOf(pid int) string {
	exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return exe
}
