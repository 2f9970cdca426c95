package profiler

import (
	"context"
	"errors"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/sample"
)

// Interval is what Watch hands over after each interval: the profile of that
// interval alone, its sampling stats, and when it ended.
type Interval struct {
	Profile *callgraph.Profile
	Stats   SampleStats
	// Since is the time since watching began; Version the interpreter's.
	Since   time.Duration
	Version sample.Version
	// Exited is set on the last interval when the process exited in it.
	Exited bool
}

// Watch samples a running process, with no agent, and calls show with the
// profile of every interval until ctx ends, so.Duration has passed, or the
// process exits (the last, shorter interval is shown too). Each interval
// is a profile of its own: what the program does now, not since the start.
// A process that exits ends Watch with a nil error.
func Watch(ctx context.Context, pid int, so SampleOptions, interval time.Duration, show func(Interval)) error {
	p, err := sample.Attach(pid)
	if err != nil {
		return samplingError(err)
	}
	defer p.Close()
	start := time.Now()
	if so.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, so.Duration)
		defer cancel()
	}
	opts := so.sampler()
	opts.Duration = interval
	for {
		prof, st, err := sample.Run(ctx, p, opts)
		exited := errors.Is(err, sample.ErrProcessExited)
		if err != nil && !exited {
			return err
		}
		nameThreads(prof, int64(pid))
		show(Interval{Profile: prof, Stats: st, Since: time.Since(start), Version: p.Version(), Exited: exited})
		if exited || ctx.Err() != nil {
			return nil
		}
	}
}
