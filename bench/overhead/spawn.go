package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A role is the harness binary acting as a transparent go-between: it runs
// a program with its own arguments, descriptors and exit status, times it
// from fork to exit and appends "WALL_NS MAXRSS_KIB CPU_NS" to a report
// file.
//
// Why: Linux charges a child's rusage with the peak RSS of the memory it
// was forked from (exec folds the old mm's high-water mark into the
// process's maxrss, and Go forks with CLONE_VM), so every child of a
// long-running harness would report at least the harness's own peak. A
// freshly started go-between is a few MiB, below any Python's peak.
type role struct {
	reportVar  string // where to append the report
	programVar string // the program to run with the arguments; "" runs the arguments
}

var (
	// launcher starts every timed run.
	launcher = role{reportVar: "PYPROF_OVERHEAD_LAUNCH_REPORT"}
	// shim stands in for the interpreter under pyprof (--python) in the
	// scale measurement, to report the program's peak RSS apart from
	// pyprof's.
	shim = role{reportVar: "PYPROF_OVERHEAD_SHIM_REPORT", programVar: "PYPROF_OVERHEAD_SHIM_PYTHON"}
)

// activeRole returns the role the environment asks for, or nil. The
// launcher comes first: its environment also carries the shim's variables,
// meant for a descendant.
func activeRole() *role {
	for _, r := range []*role{&launcher, &shim} {
		if os.Getenv(r.reportVar) != "" {
			return r
		}
	}
	return nil
}

// env is the environment that makes a child of the harness play r.
func (r *role) env(report, program string) []string {
	env := []string{r.reportVar + "=" + report}
	if r.programVar != "" {
		env = append(env, r.programVar+"="+program)
	}
	return env
}

// script writes a shell script at path that runs self in role r. pyprof
// is given the shim as a script, never as an executable: pyprof caches
// what an executable file says it is, keyed by the file, and one binary
// standing in for several interpreters would be taken for the first
// (measured: a 3.12 agent loaded into 3.13, SIGSEGV).
func (r *role) script(path, self, report, program string) error {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for _, kv := range r.env(report, program) {
		name, value, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "%s=%s; export %s\n", name, shellQuote(value), name)
	}
	fmt.Fprintf(&b, "exec %s \"$@\"\n", shellQuote(self))
	return os.WriteFile(path, []byte(b.String()), 0o700)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// run plays the role; its result is the exit status.
func (r *role) run() int {
	// First, before the Go runtime opens descriptors of its own: what was
	// inherited beyond 0-2 (pyprof's shared memory) goes on to the program.
	inherited := inheritedFiles()
	argv := os.Args[1:]
	if r.programVar != "" {
		argv = append([]string{os.Getenv(r.programVar)}, argv...)
	}
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "overhead: nothing to run")
		return 127
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles, cmd.Env = inherited, r.without(os.Environ())
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "overhead:", err)
		return 127
	}
	go func() {
		for sig := range signals {
			_ = cmd.Process.Signal(sig)
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		appendLine(os.Getenv(r.reportVar), fmt.Sprintf("%d %d %d", wall.Nanoseconds(), ru.Maxrss, cpu.Nanoseconds()))
	}
	return exitStatus(err)
}

// without drops r's own variables, keeping those meant for descendants.
func (r *role) without(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name != r.reportVar && name != r.programVar {
			out = append(out, kv)
		}
	}
	return out
}

func exitStatus(err error) int {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// inheritedFiles returns descriptors 3 and up that are open, as
// ExtraFiles: entry i is descriptor 3+i, nil where none is open.
func inheritedFiles() []*os.File {
	var out []*os.File
	last := -1
	for fd := 3; fd < 64; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			out = append(out, nil)
			continue
		}
		out = append(out, os.NewFile(uintptr(fd), "inherited-"+strconv.Itoa(fd)))
		last = fd - 3
	}
	return out[:last+1]
}

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// usage is what a role reports of the program it ran.
type usage struct {
	Wall   time.Duration
	MaxRSS int64         // KiB
	CPU    time.Duration // user + system, the program and its descendants
}

// lastReport reads the last line a role appended to report: pyprof probes
// the interpreter before running the program, so the program's comes last.
func lastReport(report string) (usage, bool) {
	b, _ := os.ReadFile(report)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var u usage
	var wall, cpu int64
	n, err := fmt.Sscanf(lines[len(lines)-1], "%d %d %d", &wall, &u.MaxRSS, &cpu)
	u.Wall, u.CPU = time.Duration(wall), time.Duration(cpu)
	return u, err == nil && n == 3
}
