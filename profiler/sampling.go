package profiler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/sample"
)

// SampleOptions configures sample and hybrid modes.
type SampleOptions struct {
	// Rate is samples per second.
	Rate int
	// Idle keeps stacks of threads that were not running.
	Idle bool
	// Duration bounds sampling; 0 samples until the program exits.
	Duration time.Duration
	// Subprocesses samples the program's Python descendants too.
	Subprocesses bool
	// stopAtExec ends sampling where the program execs (see RecordHybrid).
	stopAtExec bool
}

func (so SampleOptions) sampler() sample.Options {
	return sample.Options{Rate: so.Rate, Idle: so.Idle, Duration: so.Duration, Follow: so.Subprocesses, StopAtExec: so.stopAtExec}
}

// SampleStats is what the summary says of sampling.
type SampleStats = sample.Stats

// attachTimeout bounds the wait for a freshly started interpreter to map
// its runtime, after which the sampler can read it.
const attachTimeout = 10 * time.Second

// samplingError classifies what the sampler says: not being allowed to read
// the process or a Python it cannot read are environment problems.
func samplingError(err error) error {
	var perm *sample.PermissionError
	var old *sample.UnsupportedVersionError
	if errors.As(err, &perm) || errors.As(err, &old) || errors.Is(err, sample.ErrNotPython) {
		return environment(err)
	}
	return err
}

// RecordSampled runs the program unmodified, with no agent inside it, and
// samples its stacks from outside until it exits.
func RecordSampled(ctx context.Context, o Options, so SampleOptions) (*Result, SampleStats, error) {
	if err := checkTarget(o.Target); err != nil {
		return nil, SampleStats{}, usage(err)
	}
	i, err := ResolveInterpreter(&o)
	if err != nil {
		return nil, SampleStats{}, err
	}
	cmd := o.interpreterCommand(i, o.Target.plainCommandLine())
	cmd.Env = i.Environ()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	if err := cmd.Start(); err != nil {
		return nil, SampleStats{}, startError(i.Path, err)
	}
	started := time.Now()
	if o.OnStart != nil {
		o.OnStart(cmd.Process.Pid)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	prof, st, serr := sampleChild(ctx, cmd.Process.Pid, so, o.Signals, exited)
	if prof != nil && prof.Start.After(started) {
		st.BeforeFirst = prof.Start.Sub(started)
	}
	waitErr := waitProgram(ctx, cmd, o.Signals, exited)
	if serr != nil {
		return nil, st, samplingError(serr)
	}
	res := &Result{Profile: prof, Interpreter: i}
	res.ExitCode, res.Signaled = exitStatus(waitErr)
	res.Stats = Stats{Elapsed: st.Elapsed, Threads: len(prof.Threads), Lost: prof.Lost}
	return res, st, nil
}

// waitProgram waits for the program once sampling has ended (it exited,
// or --duration passed), passing signals on meanwhile; asked to stop
// waiting (a second Ctrl-C), it ends the program, as trace mode does,
// rather than wait on one that ignores SIGINT.
func waitProgram(ctx context.Context, cmd *exec.Cmd, signals <-chan os.Signal, exited <-chan error) error {
	for {
		select {
		case err := <-exited:
			return err
		case sig := <-signals:
			_ = cmd.Process.Signal(sig)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			ctx = context.Background()
		}
	}
}

// sampleChild attaches to a child pyprof started and samples it until it
// exits, forwarding signals meanwhile. exited is re-sent what it delivers.
func sampleChild(ctx context.Context, pid int, so SampleOptions, signals <-chan os.Signal, exited chan error) (*callgraph.Profile, SampleStats, error) {
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	p, err := sample.AttachWait(actx, pid)
	cancel()
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return nil, SampleStats{}, fmt.Errorf("attaching to pid %d: %w", pid, err)
	}
	defer p.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go forward(sctx, pid, signals)
	prof, st, err := sample.Run(sctx, p, so.sampler())
	if errors.Is(err, sample.ErrProcessExited) {
		err = nil
	}
	nameThreads(prof, int64(pid))
	return prof, st, err
}

// forward passes signals to pid until ctx ends.
func forward(ctx context.Context, pid int, signals <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			if s, ok := sig.(syscall.Signal); ok {
				_ = syscall.Kill(pid, s)
			}
		}
	}
}

// AttachSampled samples a running process, with no agent and no restart,
// until duration ends, ctx ends (Ctrl-C), or the process exits.
func AttachSampled(ctx context.Context, pid int, so SampleOptions) (*callgraph.Profile, SampleStats, error) {
	p, err := sample.Attach(pid)
	if err != nil {
		return nil, SampleStats{}, samplingError(err)
	}
	defer p.Close()
	prof, st, err := sample.Run(ctx, p, so.sampler())
	if err != nil && !errors.Is(err, sample.ErrProcessExited) {
		return nil, st, err
	}
	nameThreads(prof, int64(pid))
	return prof, st, err
}

// nameThreads names sampled threads, which CPython's thread states do not
// name: a main thread (its id is its process's: the program's pid, or a
// followed child's Thread.PID) as threading does, others by their native
// id.
func nameThreads(p *callgraph.Profile, pid int64) {
	if p == nil {
		return
	}
	for _, th := range p.Threads {
		if th.Name != "" {
			continue
		}
		if th.ID == pid || th.PID != 0 && th.ID == th.PID {
			th.Name = "MainThread"
		} else {
			th.Name = fmt.Sprintf("Thread %d", th.ID)
		}
	}
}

// RecordHybrid traces the program and samples it at the same time: exact
// calls and wall time per path from the trace, CPU time and executing lines
// from the samples, in one profile.
func RecordHybrid(ctx context.Context, o Options, so SampleOptions) (*Result, SampleStats, error) {
	var (
		sampled *callgraph.Profile
		st      SampleStats
		serr    error
		done    = make(chan struct{})
	)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	started := false
	o.CPURate = 0 // CPU time comes from the samples, charged to their lines
	// Children are the trace's to follow (o.Subprocesses): the sampler's
	// view of a forked child begins at its parent's frames, which the
	// trace's, beginning at the fork, would not merge with.
	so.Subprocesses = false
	// Without them, the trace ends where the program execs, and so do the
	// samples; with them, the trace follows an exec'd Python as a process
	// of its own, and the sampler samples it on. An exec that fails ends
	// neither.
	so.stopAtExec = !o.Subprocesses
	// Sampling begins when the trace does: samples of the interpreter's
	// own start-up (site's imports) would stand beside a trace that has
	// none of it.
	recording := make(chan struct{})
	o.OnRecording = sync.OnceFunc(func() { close(recording) })
	onStart := o.OnStart
	o.OnStart = func(pid int) {
		if onStart != nil {
			onStart(pid)
		}
		started = true
		go func() {
			defer close(done)
			actx, cancel := context.WithTimeout(sctx, attachTimeout)
			p, err := sample.AttachWait(actx, pid)
			cancel()
			if err != nil {
				serr = err
				return
			}
			defer p.Close()
			select {
			case <-recording:
			case <-sctx.Done():
				return
			}
			sampled, st, serr = sample.Run(sctx, p, so.sampler())
			nameThreads(sampled, int64(pid))
		}()
	}
	res, err := Record(ctx, o)
	stop()
	if started {
		<-done
	}
	if err != nil {
		return nil, st, err
	}
	if serr != nil && !errors.Is(serr, sample.ErrProcessExited) {
		return nil, st, samplingError(serr)
	}
	if sampled != nil {
		hidden := startupFiles(res.Agent)
		sampled.Elide(func(f callgraph.Func) bool { return hidden(f.Filename) })
		callgraph.MergeSamples(res.Profile, sampled)
	}
	return res, st, nil
}

// startupFiles tells the files of pyprof's own start-up code, which
// profiles never show.
func startupFiles(prep *agent.Prepared) func(string) bool {
	return func(file string) bool {
		return file == prep.Bootstrap || file == prep.BootstrapCode || file == prep.Path ||
			strings.HasSuffix(file, "runpy.py") || file == "<frozen runpy>"
	}
}

// plainCommandLine is the interpreter's command line for the program as the
// user wrote it: sample mode runs it untouched.
func (t Target) plainCommandLine() []string {
	args := append([]string{}, t.PythonOptions...)
	switch t.Kind {
	case Module:
		args = append(args, "-m", t.Name)
	case Code:
		args = append(args, "-c", t.Name)
	default:
		args = append(args, t.Name)
	}
	return append(args, t.Args...)
}
