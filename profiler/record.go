package profiler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/ring"
	"github.com/pyprof/pyprof/profiler/wire"
)

// Options configures a trace-mode recording.
type Options struct {
	Target Target
	// Python is --python: the interpreter to use, overriding Target's.
	Python string
	Agent  agent.Kind
	// ToolID is the sys.monitoring tool id (PROFILER_ID, 2, by default).
	ToolID int
	// RingBytes is each thread's ring size; Slots how many threads may
	// record at once.
	RingBytes uint64
	Slots     int
	// Poll is how often the rings are drained.
	Poll time.Duration
	// Progress, when set, is called about four times a second while the
	// program runs.
	Progress func(Stats)
	// Notice receives one-line messages for the user (agent fallbacks,
	// what happened to the program).
	Notice func(string)
	// Info receives one-line messages that only inform (which interpreter
	// pyprof picked), which a quiet run leaves out.
	Info func(string)
	// Signals forwards signals pyprof receives to the program.
	Signals <-chan os.Signal
	// OnStart, when set, is called with the program's pid once it runs.
	OnStart func(pid int)
	// CPURate is how many times a second each thread's CPU clock is read
	// to charge CPU time to the running paths; 0 measures no CPU time.
	CPURate int
	// TimelineMin, when positive, keeps every call at least this long for a
	// timeline, at most TimelineMax of them (the longest).
	TimelineMin time.Duration
	TimelineMax int
	// Subprocesses follows the program's child processes (issues 5 and 6):
	// forked ones and new Python 3.12+ interpreters it starts each record
	// into rings of their own, and their threads are labelled with their
	// pid.
	Subprocesses bool
	// SkipNative records Python functions only: CALL, C_RETURN and C_RAISE
	// are not watched, which on call-heavy code costs as much as every
	// other event together (sys.monitoring reports CALL for every call,
	// Python ones included, with four arguments). Native callables then
	// count as their caller's self time, and the agent reads call lines
	// from the caller's frame at PY_START instead of from CALL (where it
	// can check the frame layout: 3.12 and 3.13; else CallLine is 0).
	SkipNative bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Stats describes a recording, for the live status line and the summary.
type Stats struct {
	Elapsed time.Duration
	Events  int64
	Threads int
	// Lost counts events that never reached the profile; LostNoMemory
	// those of them the program had no address space to map a ring for.
	Lost, LostNoMemory int64
	// ProducerWait is how long the program's threads waited for room in
	// their rings: the consumer falling behind shows here. pyprof record
	// writes it into the profile as a comment starting WaitComment.
	ProducerWait time.Duration
	// Mismatched counts leave events with no matching enter.
	Mismatched int64
	// DecodeErrors counts rings whose records could not be decoded.
	DecodeErrors int
	// Children counts the child processes followed; ChildrenRunning those
	// still running when recording ended, written as they were then.
	Children, ChildrenRunning int
}

// WaitComment starts the profile comment that gives Stats.ProducerWait as
// a Go duration (time.Duration.String): the overhead harness reads it.
const WaitComment = "program waited for pyprof: "

// Result is what a recording produced.
type Result struct {
	Profile     *callgraph.Profile
	Stats       Stats
	Interpreter *agent.Interpreter
	Agent       *agent.Prepared
	// ExitCode is the program's exit status, 128+N when killed by signal N.
	ExitCode int
	// Signaled is set when the program was killed by a signal.
	Signaled syscall.Signal
}

// Error classes the CLI turns into exit codes.
var (
	// ErrUsage: the command line is wrong.
	ErrUsage = errors.New("usage")
	// ErrEnvironment: this machine cannot run the recording as asked.
	ErrEnvironment = errors.New("environment")
)

// usage and environment wrap an error into its class, keeping its text.
func usage(err error) error       { return classified{err, ErrUsage} }
func environment(err error) error { return classified{err, ErrEnvironment} }

type classified struct{ err, class error }

func (c classified) Error() string { return c.err.Error() }
func (c classified) Unwrap() []error {
	return []error{c.err, c.class}
}

// ResolveInterpreter finds and checks the interpreter to run.
func ResolveInterpreter(o *Options) (*agent.Interpreter, error) {
	name := o.Python
	if name == "" {
		name = o.Target.Interpreter
	}
	if name == "" {
		i, err := agent.Discover()
		if err != nil {
			return nil, environment(err)
		}
		o.info(fmt.Sprintf("using %s (Python %s)", i.Path, i.VersionString()))
		return i, nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, environment(fmt.Errorf("interpreter %s not found: pass --python PATH or name a python3.12+ on PATH", name))
	}
	i, err := agent.Probe(path)
	if err != nil {
		return nil, environment(fmt.Errorf("%s does not run as a Python interpreter: pass --python PATH to a python3.12 or newer", name))
	}
	if !i.Supported() {
		return nil, environment(fmt.Errorf("%s is Python %s: pyprof records CPython 3.12 or newer in every mode (tracing needs their sys.monitoring, sampling reads their interpreter's layout): name one, for example `pyprof record -- python3.12 ...`, or pass --python PATH", name, i.VersionString()))
	}
	return i, nil
}

// interpreterCommand runs the interpreter with args, under the name a shell
// would give it (see argv0).
func (o *Options) interpreterCommand(i *agent.Interpreter, args []string) *exec.Cmd {
	cmd := exec.Command(i.RunPath(), args...)
	cmd.Args[0] = o.argv0(i)
	return cmd
}

// argv0 is the name the interpreter starts under, as a shell would start
// it: the word typed for it (python3.12, --python's path), which the
// program sees in sys.orig_argv and from which Python finds
// sys.executable, as pyprof did, on PATH. An interpreter a pyenv shim
// picked starts under its path, as the shim starts it, and so does one
// pyprof found itself.
func (o *Options) argv0(i *agent.Interpreter) string {
	switch {
	case i.Launch != nil:
		return i.Launch.Path
	case o.Python != "":
		return o.Python
	case o.Target.Interpreter != "":
		return o.Target.Interpreter
	}
	return i.Path
}

func (o *Options) notice(msg string) {
	if o.Notice != nil {
		o.Notice(msg)
	}
}

// info is notice for what is only information, which -q leaves out.
func (o *Options) info(msg string) {
	if o.Info != nil {
		o.Info(msg)
	}
}

// Record runs the program and returns its profile. The profile is built
// whatever way the program ends: normally, by sys.exit, by an exception,
// by os._exit, or by a signal; what reached the rings is in it.
func Record(ctx context.Context, o Options) (*Result, error) {
	if err := checkTarget(o.Target); err != nil {
		return nil, usage(err)
	}
	i, err := ResolveInterpreter(&o)
	if err != nil {
		return nil, err
	}
	prep, err := agent.Prepare(i, o.Agent)
	if err != nil {
		if errors.Is(err, agent.ErrBuild) {
			return nil, environment(fmt.Errorf("%w (--agent python needs no compiler)", err))
		}
		return nil, environment(err)
	}
	if prep.Warning != "" {
		o.notice(prep.Warning)
	}
	kind := clock.Best()
	if prep.Kind == agent.Python {
		kind = clock.Monotonic
	}
	shm, err := ring.Create(ring.Options{Slots: o.Slots, RingBytes: o.RingBytes, Clock: uint32(kind)})
	if err != nil {
		return nil, environment(err)
	}
	defer shm.Close()
	s := &session{o: o, clk: kind, builder: callgraph.NewBuilder()}
	s.main = s.newProc(0, shm, s.builder.Main())
	if o.Subprocesses {
		if s.children, err = agent.PrepareChildren(); err != nil {
			return nil, environment(err)
		}
		if s.listener, err = newChildListener(); err != nil {
			return nil, environment(err)
		}
		defer s.listener.close()
	}
	res, err := s.run(ctx, i, prep)
	if err != nil {
		return nil, err
	}
	res.Interpreter, res.Agent = i, prep
	return res, nil
}

// checkTarget catches a missing script before anything starts, so the
// program never runs for nothing.
func checkTarget(t Target) error {
	if t.Kind != Script {
		return nil
	}
	f, err := os.Open(t.Name)
	if err != nil {
		return fmt.Errorf("cannot open script %s: %w", t.Name, errors.Unwrap(err))
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return nil // a folder with __main__.py, as python runs it
	}
	head := make([]byte, 4096)
	n, _ := f.Read(head)
	if isBinary(head[:n]) {
		return fmt.Errorf("%s is not a Python script: pyprof runs Python 3.12+ programs, as in pyprof record -- python3.12 script.py", t.Name)
	}
	return nil
}

// isBinary tells an executable or data file from source code: source has
// no NUL bytes. Zip archives (runnable by python) are let through.
func isBinary(head []byte) bool {
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return false
	}
	return bytes.IndexByte(head, 0) >= 0
}

// session is one running recording.
type session struct {
	o       Options
	clk     clock.Kind
	builder *callgraph.Builder
	// main holds the program's rings; followed holds those of the child
	// processes followed and still drained, by pid.
	main     *procRings
	followed map[int]*procRings
	// seen holds the pid of every child followed (one that execs another
	// Python registers twice).
	seen map[int]bool
	// retired adds up what followed children that ended counted.
	retired Stats
	stats   Stats
	// children and listener are set when children are followed.
	children *agent.Children
	listener *childListener
	// busiest is the most bytes one ring held in the drains since the
	// pacer last looked.
	busiest uint64
	// notes carries what the bootstrap tells of the program.
	notes *programNotes
}

// procRings is the shared memory of one process, the program or a child,
// and the decoding of its rings.
type procRings struct {
	pid      int    // 0 for the program
	serial   uint64 // of a child's registration
	shm      *ring.Shared
	proc     *callgraph.Process
	decoders []*wire.Decoder
	failed   []bool
	cpu      *cpuClocks // nil unless CPU time is measured
	// nanos: the process counts CLOCK_MONOTONIC nanoseconds while the
	// recording counts TSC ticks (a child running the twin).
	nanos bool
	// hungUp is when a child's connection ended (its clock), 0 before.
	hungUp int64
}

func (s *session) newProc(pid int, shm *ring.Shared, proc *callgraph.Process) *procRings {
	pr := &procRings{pid: pid, shm: shm, proc: proc}
	pr.decoders = make([]*wire.Decoder, len(shm.Slots()))
	pr.failed = make([]bool, len(shm.Slots()))
	var sink wire.Sink = proc
	if pid == 0 {
		sink = s.builder
	}
	for k := range pr.decoders {
		pr.decoders[k] = wire.NewDecoder(sink)
	}
	return pr
}

// now reads the clock the process's timestamps count.
func (s *session) now(pr *procRings) int64 {
	if pr.nanos {
		return clock.MonotonicNanos()
	}
	return clock.Now(s.clk)
}

func (s *session) command(i *agent.Interpreter, prep *agent.Prepared) *exec.Cmd {
	cmd := s.o.interpreterCommand(i, s.o.Target.commandLine(prep.Bootstrap))
	mode := "record"
	if prep.Null {
		mode = "null"
	}
	native := "1"
	if s.o.SkipNative {
		native = "0"
	}
	config := []string{"fd=3", "path=" + prep.Path, "tool=" + strconv.Itoa(s.o.ToolID), "mode=" + mode,
		"python=" + i.VersionString(), "native=" + native, "notes=" + strconv.Itoa(notesFD)}
	cmd.Env = i.Environ()
	if s.listener != nil {
		config = append(config, "site="+s.children.Site)
		// What a child needs to follow this recording (bootstrap.py's
		// follow_exec); it stays in the environment for grandchildren.
		cmd.Env = append(cmd.Env, "PYPROF_CHILD="+strings.Join([]string{
			"socket=" + s.listener.name, "tool=" + strconv.Itoa(s.o.ToolID), "mode=" + mode, "native=" + native,
			"boot=" + prep.Bootstrap, "agent=" + prep.Path, "python=" + i.VersionString(), "twin=" + s.children.Twin,
			"slots=" + strconv.Itoa(len(s.main.shm.Slots())), "ring=" + strconv.FormatUint(s.o.RingBytes, 10),
			"clock=" + strconv.Itoa(int(s.clk)), "consumer=" + strconv.Itoa(os.Getpid())}, ";"))
	}
	cmd.Env = append(cmd.Env, "PYPROF_AGENT="+strings.Join(config, ";"))
	cmd.ExtraFiles = []*os.File{s.main.shm.File(), s.notes.w}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.o.Stdin, s.o.Stdout, s.o.Stderr
	return cmd
}

func (s *session) run(ctx context.Context, i *agent.Interpreter, prep *agent.Prepared) (*Result, error) {
	cal := clock.Start(s.clk)
	startNanos := clock.MonotonicNanos()
	started := time.Now()
	if s.o.TimelineMin > 0 {
		s.builder.RecordTimeline(timelineTicks(s.clk, s.o.TimelineMin), s.o.TimelineMax)
	}
	notes, err := newProgramNotes()
	if err != nil {
		return nil, environment(err)
	}
	s.notes = notes
	cmd := s.command(i, prep)
	if err := cmd.Start(); err != nil {
		notes.r.Close()
		notes.w.Close()
		return nil, environment(fmt.Errorf("starting %s: %w", i.Path, err))
	}
	notes.read()
	if s.o.OnStart != nil {
		s.o.OnStart(cmd.Process.Pid)
	}
	if s.o.CPURate > 0 {
		s.main.cpu = newCPUClocks(cmd.Process.Pid)
		s.builder.MeasureCPU()
	}
	defer s.closeAll()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitErr := s.drainUntil(ctx, cmd, exited, started)
	s.main.proc.Exit(clock.Now(s.clk))
	if len(s.followed) > 0 {
		s.drainChildren(childGrace)
	}
	endTicks, endNanos := clock.Now(s.clk), clock.MonotonicNanos()
	cal.Stop()
	s.drainAll()
	s.stats.Elapsed = time.Since(started)
	programNotes := notes.finish()
	if err := s.agentFailure(i); err != nil {
		return nil, err
	}
	for _, msg := range explainNotes(programNotes, startNanos, s.o.ToolID) {
		s.o.notice(msg)
	}
	res := &Result{Stats: s.finishStats()}
	if n := res.Stats.LostNoMemory; n > 0 {
		s.o.notice(fmt.Sprintf("%d events lost: the program had no address space left to map rings in (ulimit -v): raise the limit", n))
	}
	res.Stats.ChildrenRunning = len(s.followed)
	s.builder.AddLost(res.Stats.Lost)
	res.ExitCode, res.Signaled = exitStatus(waitErr)
	res.Profile = s.builder.Finish(callgraph.FinishOptions{
		End: endTicks, NanosPerTick: cal.NanosPerTick(), Start: started, Duration: s.stats.Elapsed,
		StartTick: cal.StartTick(), StartNanos: startNanos, EndNanos: endNanos,
	})
	return res, nil
}

// closeAll releases what the session holds of every process. The rings of
// children still running are unmapped as they are: the profile has what
// they wrote until now.
func (s *session) closeAll() {
	if s.listener != nil {
		s.listener.close()
	}
	for pid, pr := range s.followed {
		pr.close()
		delete(s.followed, pid)
	}
	s.main.cpu.close()
}

func (pr *procRings) close() {
	pr.cpu.close()
	if pr.pid != 0 {
		pr.shm.Close()
	}
}

// timelineTicks converts the timeline threshold into ticks of clock k before
// the run's own calibration exists: a short calibration is exact enough for
// a threshold.
func timelineTicks(k clock.Kind, d time.Duration) int64 {
	if k != clock.TSC {
		return int64(d)
	}
	c := clock.Start(k)
	time.Sleep(2 * time.Millisecond)
	c.Stop()
	return int64(float64(d) / c.NanosPerTick())
}

// drainUntil drains the rings every Poll while they fill, less often while
// they are quiet (see pacer), until the program exits,
// forwarding signals and reporting progress.
func (s *session) drainUntil(ctx context.Context, cmd *exec.Cmd, exited <-chan error, started time.Time) error {
	regs, exits := s.registrations()
	lastProgress := time.Now()
	var cpuPeriod time.Duration
	if s.o.CPURate > 0 {
		cpuPeriod = time.Second / time.Duration(s.o.CPURate)
	}
	pace := newPacer(s.o.Poll, s.o.RingBytes, cpuPeriod)
	tick := time.NewTimer(s.o.Poll)
	defer tick.Stop()
	lastCPU, lastReap := time.Now(), time.Now()
	for {
		select {
		case err := <-exited:
			return err
		case sig := <-s.o.Signals:
			_ = cmd.Process.Signal(sig)
		case <-ctx.Done():
			// Asked to stop waiting: end the program now and keep what
			// reached the rings.
			_ = cmd.Process.Kill()
			ctx = context.Background()
		case r := <-regs:
			s.follow(r)
		case e := <-exits:
			s.ended(e)
		case <-tick.C:
			if cpuPeriod > 0 && time.Since(lastCPU) >= cpuPeriod {
				lastCPU = time.Now()
				s.sampleCPU()
			}
			s.busiest = 0
			s.drainAll()
			tick.Reset(pace.next(s.busiest))
			if time.Since(lastReap) >= reapPeriod {
				lastReap = time.Now()
				s.reap()
			}
			if s.o.Progress != nil && time.Since(lastProgress) > 250*time.Millisecond {
				lastProgress = time.Now()
				st := s.finishStats()
				st.Elapsed = time.Since(started)
				s.o.Progress(st)
			}
		}
	}
}

// procs calls fn for the program's rings, then each child's.
func (s *session) procs(fn func(*procRings)) {
	fn(s.main)
	for _, pr := range s.followed {
		fn(pr)
	}
}

// sampleCPU reads each recording thread's CPU clock, brings its tree up to
// that moment by draining its ring, and charges the CPU time used since the
// last reading to the path running now (or, for a thread that went to sleep
// since, to the path running then: see ThreadBuilder.ChargeCPU). Threads
// that sleep on the same path are read less often (cpuClocks.due).
func (s *session) sampleCPU() {
	s.procs(func(pr *procRings) {
		if pr.cpu == nil {
			return
		}
		pr.cpu.nextRound()
		for k, slot := range pr.shm.Active() {
			if slot.State() != wire.SlotOwned {
				continue
			}
			t := pr.decoders[k].Thread()
			if t == nil {
				continue
			}
			// Drain first, then read the clock: the stack charged is then
			// the one running when the clock was read.
			s.drainSlot(pr, k, slot, slot.State())
			if pr.decoders[k].Thread() != t {
				continue // the thread ended meanwhile
			}
			events := pr.decoders[k].Events
			if !pr.cpu.due(t.ID, events) {
				continue
			}
			if ns, onCPU, ok := pr.cpu.delta(t.ID, events); ok {
				t.ChargeCPU(ns, onCPU, s.now(pr), clock.MonotonicNanos())
			}
		}
	})
}

// drainAll empties every ring once and recycles the slots of ended threads.
func (s *session) drainAll() {
	s.main.shm.Beat(clock.MonotonicNanos())
	s.procs(s.drainProc)
}

func (s *session) drainProc(pr *procRings) {
	for k, slot := range pr.shm.Active() {
		if state := slot.State(); state != wire.SlotFree {
			s.drainSlot(pr, k, slot, state)
		}
	}
}

// drainSlot decodes what one ring holds; a ring whose thread ended (state
// read before draining) is recycled.
func (s *session) drainSlot(pr *procRings, k int, slot *ring.Slot, state uint32) {
	d := pr.decoders[k]
	n, err := slot.Drain(func(b []byte) error {
		if pr.failed[k] {
			return nil
		}
		return d.Decode(b)
	})
	s.busiest = max(s.busiest, uint64(n))
	if err != nil && !pr.failed[k] {
		// A ring that cannot be decoded is skipped from here on; its
		// thread's tree stops where the damage began.
		pr.failed[k] = true
		s.stats.DecodeErrors++
		if pr.pid != 0 {
			s.o.notice(fmt.Sprintf("child %d: ring %d: %v", pr.pid, k, err))
		} else {
			s.o.notice(fmt.Sprintf("ring %d: %v", k, err))
		}
	}
	if state != wire.SlotClosed {
		return
	}
	s.stats.ProducerWait += time.Duration(slot.WaitNanos())
	if t := d.Thread(); t != nil && pr.cpu != nil {
		pr.cpu.forget(t.ID)
	}
	d.Reset()
	pr.failed[k] = false
	// Give the memory back before the slot is published as free:
	// afterwards a new thread may already be writing into it.
	pr.shm.Release(k)
	slot.Free()
}

// stats counts the events decoded from the process's rings, the time its
// threads still owning a slot waited, and the events it lost.
func (pr *procRings) stats() Stats {
	var st Stats
	for _, d := range pr.decoders {
		st.Events += d.Events
	}
	for _, slot := range pr.shm.Active() {
		if slot.State() != wire.SlotFree {
			st.ProducerWait += time.Duration(slot.WaitNanos())
		}
	}
	noSlot, noConsumer, noMemory := pr.shm.Lost()
	st.Lost = int64(noSlot + noConsumer + noMemory)
	st.LostNoMemory = int64(noMemory)
	return st
}

func (s *session) finishStats() Stats {
	st := s.stats
	st.Events, st.Lost, st.LostNoMemory = s.retired.Events, s.retired.Lost, s.retired.LostNoMemory
	st.ProducerWait += s.retired.ProducerWait
	s.procs(func(pr *procRings) {
		ps := pr.stats()
		st.Events += ps.Events
		st.Lost += ps.Lost
		st.LostNoMemory += ps.LostNoMemory
		st.ProducerWait += ps.ProducerWait
	})
	st.Threads = s.builder.Threads()
	st.Mismatched = s.builder.Mismatched()
	return st
}

// agentFailure turns what the agent wrote in the header into an error.
func (s *session) agentFailure(i *agent.Interpreter) error {
	switch shm := s.main.shm; shm.Status() {
	case wire.StatusToolTaken:
		return environment(fmt.Errorf("%s: pass --tool-id N with a free id from 0 to 5", shm.ErrorMessage()))
	case wire.StatusWrongPython:
		agent.ForgetProbe(i.Path)
		return environment(errors.New(s.main.shm.ErrorMessage()))
	case wire.StatusError:
		return environment(fmt.Errorf("the agent could not start: %s", shm.ErrorMessage()))
	}
	return nil
}

func exitStatus(err error) (int, syscall.Signal) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, 0
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), ws.Signal()
	}
	return ee.ExitCode(), 0
}
