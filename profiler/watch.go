package profiler

import (
	"context"
	"errors"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/sample"
)

// Interval is what Watch hands over after each interval: the profile of
// that interval alone, its sampling stats, and when it ended.
type Interval struct {
	Profile *callgraph.Profile
	Stats   SampleStats
	// N counts intervals from 1; Since is the time since watching began.
	N     int
	Since time.Duration
	// Version is the interpreter's.
	Version sample.Version
	// Exited is set on the last interval when the process exited in it.
	Exited bool
}

// Watch samples a running process, with no agent, and calls show with the
// profile of every interval until ctx ends, so.Duration has passed, or the
// process exits (the last, shorter interval is shown too). Each interval
// is a profile of its own: what the program does now, not since the start.
// Intervals end on the grid start + k*interval, so that each stands for
// interval of wall time however long its last read took; an interval the
// sampler overran entirely is skipped. A process that exits ends Watch with
// a nil error.
func Watch(ctx context.Context, pid int, so SampleOptions, interval time.Duration, show func(Interval)) error {
	p, err := sample.Attach(pid)
	if err != nil {
		return samplingError(err)
	}
	defer p.Close()
	start := time.Now()
	var deadline time.Time // zero: none
	if so.Duration > 0 {
		deadline = start.Add(so.Duration)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	opts := so.sampler()
	k := 0
	for n := 1; ; n++ {
		end := start
		for !end.After(time.Now()) {
			k++
			end = start.Add(time.Duration(k) * interval)
		}
		// The last interval ends at the deadline, not past it: one begun
		// a moment before the deadline would show a sample or two.
		last := !deadline.IsZero() && !end.Before(deadline)
		if last {
			end = deadline
		}
		// Run stops after its last tick before end; the wait keeps the
		// interval whole (and a Duration of 0 would mean "no end").
		opts.Duration = max(time.Until(end), time.Nanosecond)
		prof, st, err := sample.Run(ctx, p, opts)
		exited := errors.Is(err, sample.ErrProcessExited)
		if err != nil && !exited {
			return err
		}
		if !exited {
			sleepUntil(ctx, end)
		}
		nameThreads(prof, int64(pid))
		show(Interval{Profile: prof, Stats: st, N: n, Since: time.Since(start), Version: p.Version(), Exited: exited})
		if exited || last || ctx.Err() != nil {
			return nil
		}
	}
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}
