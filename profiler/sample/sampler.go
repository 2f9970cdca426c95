package sample

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

// DefaultRate is the sampling rate when Options.Rate is 0, in Hz.
const DefaultRate = 100

// Options configures Run.
type Options struct {
	// Rate is the sampling rate in Hz; 0 means DefaultRate.
	Rate int
	// Idle keeps the stacks of threads that are not on CPU; when false
	// only running threads are recorded. DefaultOptions sets it: the zero
	// value drops idle stacks.
	Idle bool
	// Duration stops sampling after this long; 0 samples until ctx is done
	// or the process exits.
	Duration time.Duration
	// Follow samples the process's Python descendants too, each thread
	// labelled with its process id (callgraph.Thread.PID).
	Follow bool
	// StopAtExec ends the run when the process execs, as an exit would,
	// where it otherwise samples an exec'd Python on. Hybrid mode sets it:
	// its trace ends at the exec, and samples of the program after it would
	// stand in a profile that says it ends there. Each tick then first
	// checks that the process still has the stack it had (see
	// Process.replaced).
	StopAtExec bool
}

// DefaultOptions returns the options of `pyprof record --mode sample`
// without flags: 100 Hz, idle stacks kept, no time limit.
func DefaultOptions() Options {
	return Options{Rate: DefaultRate, Idle: true}
}

func (o Options) withDefaults() Options {
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	return o
}

// Stats counts what a Run did.
type Stats struct {
	// Samples is the number of ticks at which every thread was read.
	Samples int64
	// Missed counts ticks skipped because sampling overran its period: the
	// ticker is drift-free, so missed ticks are counted, not shifted.
	Missed int64
	// Dropped counts thread stacks, and whole samples, that kept changing
	// while read and were left out (dropped stacks are charged to a
	// marker frame of their thread).
	Dropped int64
	// Reads is the number of process_vm_readv calls.
	Reads int64
	// Elapsed is the wall time from the first tick to the end.
	Elapsed time.Duration
	// Unobserved is the wall time of gaps between samples too long to be
	// shared out between the stacks around them (Builder), charged to an
	// "[unobserved]" marker frame instead.
	Unobserved time.Duration
	// BeforeFirst is how long a program pyprof started ran before the
	// sampler's first read (its interpreter's start, while pyprof waited
	// to attach): no sample saw it. Run leaves it to the caller, which
	// knows when the program started.
	BeforeFirst time.Duration
	// AfterLast is how long past its last sample, less one period, the
	// process was found gone: a sampler that could not run for a while
	// (a loaded machine) sees the exit late, and the program's last part
	// is in no sample. Those ticks are not counted in Missed, which the
	// samples around them share out.
	AfterLast time.Duration
	// Period is the sampling period.
	Period time.Duration
	// Python is the version the sampled process's runtime says it is
	// (Py_Version in its memory), and Executable the file it runs
	// (/proc/PID/exe, "" when unreadable): what was sampled, whatever the
	// interpreter pyprof started turned out to run.
	Python, Executable string
	// Execs counts the times the process exec'd a new Python, which the
	// sampler attached to again.
	Execs int64
	// ExecedAway is the file the process exec'd when that ended the
	// sampling (a program pyprof cannot sample, or any exec with
	// Options.StopAtExec), "" otherwise; Elapsed then ends where the
	// exec was seen, and AfterLast is 0: what the process ran after the
	// exec is not the program sampled, not time a sample missed.
	ExecedAway string
	// Children counts the child processes sampled (Options.Follow).
	Children int
}

// UnobservedComment says, for a profile's comments, how much time no
// sample saw (the missed ticks) and where it went; "" when none was missed.
func (s Stats) UnobservedComment() string {
	var parts []string
	if s.BeforeFirst > 0 {
		parts = append(parts, fmt.Sprintf("%v before the first read (the program started while pyprof attached), in no sample", s.BeforeFirst.Round(time.Millisecond)))
	}
	if s.Missed > 0 {
		missed := time.Duration(s.Missed) * s.Period
		parts = append(parts, fmt.Sprintf("%v (ticks missed: %d), shared out by the threads' scheduler clocks among the stacks sampled, %v of it as %s",
			missed, s.Missed, s.Unobserved, unobservedName))
	}
	if s.AfterLast > 0 {
		parts = append(parts, fmt.Sprintf("up to %v between the last sample and the exit, in no sample", s.AfterLast.Round(time.Millisecond)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "not observed: " + strings.Join(parts, "; ")
}

// Rate returns the achieved sampling rate in Hz.
func (s Stats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Samples) / s.Elapsed.Seconds()
}

// Run samples p at opts.Rate until ctx is done, opts.Duration has passed or
// the process exits, and returns the aggregated profile: Values Samples,
// Wall, CPU (and GIL), Default Wall, Period 1/Rate. Its Lost stays 0: a
// missed tick's time is shared out between the samples around it by the
// threads' scheduler clocks, or shown as an "[unobserved]" frame (Builder),
// and a stack that changed while read goes to its outer frames or the
// marker, so nothing is lost; Stats counts both for the summary.
// When the process exits, Run returns the profile so far and an error
// matching ErrProcessExited. A cancelled ctx is a normal end (nil error).
func Run(ctx context.Context, p *Process, opts Options) (*callgraph.Profile, Stats, error) {
	opts = opts.withDefaults()
	b := NewBuilder(opts)
	if !p.freeThreaded {
		// Declared before the first tick: a run that ends before it (a short
		// hybrid run on a loaded machine) still says what it measured.
		b.declareGIL()
	}
	r := &run{p: p, b: b, period: b.period, reads0: p.Reads(), fam: newFamily(p, opts.Follow), stopAtExec: opts.StopAtExec}
	r.stats.Period = b.period
	r.stats.Python = p.Version().String()
	r.stats.Executable = executableOf(p.PID())
	defer r.fam.close()
	err := r.loop(ctx, opts.Duration)
	prof := b.Profile()
	prof.Start = r.start
	prof.Duration = r.stats.Elapsed
	r.stats.Unobserved = b.Unobserved()
	return prof, r.stats, err
}

// stallForTest, set by tests, runs before each tick with the samples taken
// so far: it stands for a sampler that a loaded machine did not run.
var stallForTest func(samples int64)

// run is the state of one Run.
type run struct {
	p      *Process
	b      *Builder
	period time.Duration
	start  time.Time
	stats  Stats
	reads0 int64
	fam    *family
	// lastSample is when the last sample of the process was taken.
	lastSample time.Time
	// execSeen is when the process was first seen to have exec'd an image
	// not attached yet (see reattach), and execTarget the file it ran
	// then; zero otherwise.
	execSeen   time.Time
	execTarget string
	// stopAtExec is Options.StopAtExec.
	stopAtExec bool
}

func (r *run) loop(ctx context.Context, limit time.Duration) error {
	r.start = time.Now()
	defer func() {
		r.stats.Children = r.fam.attached
		r.stats.Elapsed = time.Since(r.start)
		if r.stats.ExecedAway != "" {
			r.stats.Elapsed = r.execSeen.Sub(r.start)
		}
		r.stats.Reads = r.p.Reads() - r.reads0
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var stop time.Time
	if limit > 0 {
		stop = r.start.Add(limit)
	}
	for next := r.start; stop.IsZero() || next.Before(stop); {
		if err := r.wait(ctx, timer, r.jittered(next, stop)); err != nil {
			return nil
		}
		if stallForTest != nil {
			stallForTest(r.stats.Samples)
		}
		if err := r.tick(); err != nil {
			if errors.Is(err, ErrProcessExited) && !r.execSeen.IsZero() && r.stats.ExecedAway == "" {
				// It exited while the program it exec'd was not read yet
				// (a shell that ran briefly): the samples end at the exec.
				r.stats.ExecedAway = cmp.Or(r.execTarget, "another program")
				err = fmt.Errorf("sampling pid %d: it exec'd %s, which has exited: %w", r.p.pid, r.stats.ExecedAway, ErrProcessExited)
			}
			if errors.Is(err, ErrProcessExited) && !r.lastSample.IsZero() && r.stats.ExecedAway == "" {
				r.stats.AfterLast = max(time.Since(r.lastSample)-r.period, 0)
			}
			return err
		}
		next = r.advance(next, time.Now(), stop)
	}
	return nil
}

// jittered returns when to sample the tick at next: at a moment drawn at
// random from its period (the first tick at once), before stop. Samples
// taken at the same point of every period fall on the same point of a
// program that repeats with a period that divides into theirs: a loop of
// 10 ms whose first 2 ms ran one function got none or half of the samples,
// never a fifth. One sample a period keeps the rate and the counting of
// missed ticks; the time a sample stands for is measured, not assumed.
func (r *run) jittered(next, stop time.Time) time.Time {
	if next.Equal(r.start) {
		return next
	}
	at := next.Add(rand.N(r.period))
	if !stop.IsZero() && !at.Before(stop) {
		return next
	}
	return at
}

// wait sleeps until next; it returns ctx's error when ctx ends first.
func (r *run) wait(ctx context.Context, timer *time.Timer, next time.Time) error {
	if err := ctx.Err(); err != nil {
		return err // select would pick a due timer half the time
	}
	timer.Reset(time.Until(next))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// advance returns the next tick after the one at next, skipping and
// counting the ticks that passed while we sampled, up to stop (if not
// zero). Ticks stay on the grid start + k*period, so the rate does not
// drift.
func (r *run) advance(next, now, stop time.Time) time.Time {
	next = next.Add(r.period)
	late := now.Sub(next)
	if late < r.period {
		return next
	}
	missed := int64(late / r.period)
	if !stop.IsZero() {
		left := int64((stop.Sub(next) + r.period - 1) / r.period) // ticks before stop
		missed = min(missed, max(left, 0))
	}
	r.stats.Missed += missed
	return next.Add(time.Duration(missed) * r.period)
}

// tick takes one sample of the process and of the children it follows.
func (r *run) tick() error {
	if r.p.replaced() {
		if r.stopAtExec {
			return r.execedAway()
		}
		// An interpreter built without position independence execs into
		// the addresses it had: its reads go on working, yet what the
		// sampler learnt of the old program (its code objects, by
		// address) is not the new one's. It is attached anew.
		old := r.p
		if err := r.reattach(); err != nil || r.p == old {
			return err // the new image is not ready: sampled from the next tick
		}
	}
	r.fam.scan(time.Now())
	for pid, c := range r.fam.children {
		snap, err := c.Sample()
		switch {
		case err == nil:
			r.b.Add(int64(pid), snap)
		case c.exited():
			r.fam.drop(pid)
		}
	}
	snap, err := r.p.Sample()
	switch {
	case err == nil:
		r.stats.Samples++
		r.lastSample = snap.Time
		for i := range snap.Threads {
			if snap.Threads[i].Dropped {
				r.stats.Dropped++
			}
		}
		r.b.Add(0, snap)
		return nil
	case r.p.exited():
		return fmt.Errorf("sampling pid %d: %w", r.p.pid, ErrProcessExited)
	case r.stopAtExec && (r.p.execed() || r.p.replaced()):
		// The exec came while the sample was read.
		return r.execedAway()
	case r.p.execed():
		return r.reattach()
	case errors.Is(err, ErrInconsistent):
		r.stats.Dropped++
		return nil
	}
	return err
}

// exited reports whether the process is gone or a zombie: reads of a
// zombie fail, and a child the CLI has not reaped yet stays one.
func (p *Process) exited() bool { return gone(p.pid) }

// gone reports whether process pid has exited: it is no more, or a zombie
// that its parent has not reaped, with nothing left in it to read.
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	st := statState(bytes.TrimSpace(b))
	return st == 'Z' || st == 'X'
}
