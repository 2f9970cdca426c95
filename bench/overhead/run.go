package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
	"github.com/pyprof/pyprof/profiler"
)

// runner runs the children, one at a time.
type runner struct {
	cfg *config
	tmp string
	log io.Writer
	rng *rand.Rand
	// self is this binary, started as the launcher of every run.
	self string
}

// sample is what one run measured.
type sample struct {
	Wall time.Duration
	// MaxRSS is the peak resident set in KiB of the waited-for process and
	// its descendants: Linux fills wait4's rusage as RUSAGE_BOTH.
	MaxRSS int64
	// CPU is the user and system time of the process and its descendants:
	// less disturbed than Wall by other work on the machine, and it counts
	// pyprof's consumer, which runs beside the program.
	CPU time.Duration
	// Run is the duration_nanos of the profile pyprof wrote, zero for modes
	// that write none.
	Run time.Duration
	// Wait is how long the program waited for pyprof, from the profile's
	// comments; -1 where it does not say (sample mode, the null agent).
	Wait time.Duration
	// Notice is the first line pyprof wrote to standard error despite -q.
	Notice string
}

// job is one child to run.
type job struct {
	argv    []string
	env     []string // added to the harness's environment
	profile string   // where pyprof writes its profile, if it does
	// watch, when set, is called with the launcher's pid once it started
	// and must return when done is closed.
	watch func(pid int, done <-chan struct{})
}

// errRun marks a child that failed.
var errRun = errors.New("run failed")

// exec runs j through the launcher, which times it from fork to exit.
func (r *runner) exec(j job) (sample, error) {
	s := sample{Wait: -1}
	stderr, err := os.CreateTemp(r.tmp, "stderr-")
	if err != nil {
		return s, err
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	report := filepath.Join(r.tmp, "launch-report")
	_ = os.Remove(report)
	cmd := exec.Command(r.self, j.argv...)
	cmd.Dir, cmd.Stderr = r.tmp, stderr
	cmd.Env = append(append(os.Environ(), j.env...), launcher.env(report, "")...)
	// Standard input and output stay nil: /dev/null. Printing is not what
	// is measured.
	if err := cmd.Start(); err != nil {
		return s, fmt.Errorf("%w: starting %s: %v", errRun, r.self, err)
	}
	done, watched := make(chan struct{}), make(chan struct{})
	stopTimer := r.killAfter(cmd.Process.Pid, r.cfg.timeout)
	go func() {
		if j.watch != nil {
			j.watch(cmd.Process.Pid, done)
		}
		close(watched)
	}()
	waitErr := cmd.Wait()
	close(done)
	<-watched
	stopTimer()
	u, reported := lastReport(report)
	s.Wall, s.MaxRSS, s.CPU = u.Wall, u.MaxRSS, u.CPU
	msg := readTail(stderr)
	if waitErr != nil || !reported {
		return s, fmt.Errorf("%w: %s: %v\n%s", errRun, strings.Join(j.argv, " "), waitErr, msg)
	}
	s.Notice = firstNotice(msg)
	if j.profile != "" {
		if s.Run, s.Wait, err = profileFacts(j.profile); err != nil {
			return s, fmt.Errorf("%w: %s: reading its profile: %v", errRun, strings.Join(j.argv, " "), err)
		}
	}
	return s, nil
}

// killAfter kills the process tree of pid after d, unless stopped first.
func (r *runner) killAfter(pid int, d time.Duration) (stop func()) {
	t := time.AfterFunc(d, func() {
		fmt.Fprintf(r.log, "overhead: pid %d ran longer than --timeout %v: killing it\n", pid, d)
		killDescendants(pid)
	})
	return func() { t.Stop() }
}

// killDescendants kills what the launcher pid started, deepest first:
// killing pyprof alone would leave the program blocked on a ring nobody
// drains. The launcher itself lives on to report.
func killDescendants(pid int) {
	for _, child := range children(pid) {
		killDescendants(child)
		_ = syscall.Kill(child, syscall.SIGKILL)
	}
}

// children lists pid's child processes from /proc.
func children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, f := range strings.Fields(string(b)) {
			var c int
			if _, err := fmt.Sscan(f, &c); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// readTail returns the last few KiB of a child's standard error.
func readTail(f *os.File) string {
	const max = 4 << 10
	b, _ := os.ReadFile(f.Name())
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(bytes.TrimSpace(b))
}

// firstNotice finds the first "pyprof:" line: with -q, pyprof still says
// when it falls back to another agent or loses events.
func firstNotice(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "pyprof:") {
			return line
		}
	}
	return ""
}

// profileFacts reads what pyprof wrote into its profile: the duration, and
// how long the program waited for pyprof (-1 when the profile does not
// say). It then removes the file so that the next run cannot read a stale
// one.
func profileFacts(path string) (run, wait time.Duration, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(path)
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return 0, 0, err
	}
	wait = -1
	for _, c := range p.Comments {
		if text, ok := strings.CutPrefix(c, profiler.WaitComment); ok {
			if wait, err = time.ParseDuration(text); err != nil {
				return 0, 0, fmt.Errorf("comment %q: %v", c, err)
			}
		}
	}
	return time.Duration(p.DurationNanos), wait, nil
}
