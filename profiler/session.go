package profiler

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/ring"
	"github.com/pyprof/pyprof/profiler/wire"
	"golang.org/x/sys/unix"
)

// A running recording: the program, its rings and the processes followed.

// session is one running recording.
type session struct {
	o       Options
	clk     clock.Kind
	builder *callgraph.Builder
	// startNanos is when the recording began, on CLOCK_MONOTONIC.
	startNanos int64
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
	// recordingTold is set once Options.OnRecording was called.
	recordingTold bool
}

// procRings is the shared memory of one process, the program or a child,
// and the decoding of its rings.
type procRings struct {
	pid      int    // 0 for the program
	serial   uint64 // of a child's registration
	shm      *ring.Shared
	proc     *callgraph.Process
	sink     wire.Sink
	decoders []*wire.Decoder // nil where the slot has not been used yet
	failed   []bool
	cpu      *cpuClocks // nil unless CPU time is measured
	// nanos: the process counts CLOCK_MONOTONIC nanoseconds while the
	// recording counts TSC ticks (a child running the twin).
	nanos bool
	// hungUp is when a child's connection ended (its clock), 0 before.
	hungUp int64
}

func (s *session) newProc(pid int, shm *ring.Shared, proc *callgraph.Process) *procRings {
	pr := &procRings{pid: pid, shm: shm, proc: proc, sink: proc}
	if pid == 0 {
		pr.sink = s.builder
	}
	// A decoder is made when its slot first holds records: of the
	// thousands of slots most are never used, and making a decoder for
	// each up front cost the program's start several milliseconds of
	// allocation and garbage collection.
	pr.decoders = make([]*wire.Decoder, len(shm.Slots()))
	pr.failed = make([]bool, len(shm.Slots()))
	return pr
}

// decoder returns slot k's decoder, made on first use.
func (pr *procRings) decoder(k int) *wire.Decoder {
	if pr.decoders[k] == nil {
		pr.decoders[k] = wire.NewDecoder(pr.sink)
	}
	return pr.decoders[k]
}

// thread returns the thread whose records slot k carries, or nil.
func (pr *procRings) thread(k int) *callgraph.ThreadBuilder {
	if d := pr.decoders[k]; d != nil {
		return d.Thread()
	}
	return nil
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
	s.startNanos = startNanos
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
		return nil, startError(i.Path, err)
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
	s.procs(s.flushDecoders)
	s.stats.Elapsed = time.Since(started)
	programNotes := notes.finish()
	if at := notes.execAt(); at != 0 {
		// The program's calls, os.exec* last, ended where it replaced
		// itself: the time after that is the new program's (followed as a
		// process of its own with --subprocesses), not the exec call's.
		s.main.proc.Exit(cal.StartTick() + int64(float64(at-startNanos)/cal.NanosPerTick()))
	}
	if err := s.agentFailure(i); err != nil {
		return nil, err
	}
	switch s.main.shm.Status() {
	case wire.StatusBadProgram:
		code, _ := exitStatus(waitErr)
		return nil, ProgramFailed{Status: code}
	case wire.StatusStarting:
		return nil, neverStarted(i, waitErr)
	}
	if s.listener != nil {
		// The exec'd Python is followed, and the summary says so.
		programNotes = slices.DeleteFunc(programNotes, isExecNote)
	}
	for _, msg := range explainNotes(programNotes, startNanos, s.o.ToolID) {
		s.o.notice(msg)
	}
	s.procs(func(pr *procRings) {
		if at := pr.shm.GaveUp(); at != 0 {
			// The calls open then stay open only as far as the recording.
			pr.proc.Exit(cal.StartTick() + int64(float64(at-startNanos)/cal.NanosPerTick()))
			s.o.notice(gaveUpNote("the program", at-startNanos))
		}
	})
	res := &Result{Stats: s.finishStats()}
	if n := res.Stats.LostNoMemory; n > 0 {
		s.o.notice(fmt.Sprintf("%d events lost: the program had no address space left to map rings in (ulimit -v): raise the limit", n))
	}
	res.Stats.ChildrenRunning = len(s.followed)
	s.builder.AddLost(res.Stats.Lost)
	res.ExitCode, res.Signaled = exitStatus(waitErr)
	for _, n := range programNotes {
		if n.text == "python-child" {
			res.PythonChildren++
		}
	}
	res.Profile = s.builder.Finish(callgraph.FinishOptions{
		End: endTicks, NanosPerTick: cal.NanosPerTick(), Start: started, Duration: s.stats.Elapsed,
		StartTick: cal.StartTick(), StartNanos: startNanos, EndNanos: endNanos,
	})
	return res, nil
}

// gaveUpNote says that a process's agent stopped recording, after since
// (ns from the recording's start), pyprof having drained nothing for long.
func gaveUpNote(who string, since int64) string {
	return fmt.Sprintf("at %v %s found a ring full that pyprof had not drained for %v "+
		"(pyprof was stopped, or got no CPU): the agent stopped recording there, and its profile ends then",
		time.Duration(since).Round(time.Millisecond), who, time.Duration(wire.SilentNs))
}

// isExecNote tells the notes of an exec, and of its failure, from others.
func isExecNote(n programNote) bool {
	kind, _, _ := strings.Cut(n.text, " ")
	return kind == "exec" || kind == "exec-failed"
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

// ProgramFailed is the error of a program that did not compile: nothing
// ran, and the interpreter printed why, as it would have without pyprof;
// pyprof exits with its status and writes no profile.
type ProgramFailed struct{ Status int }

func (p ProgramFailed) Error() string {
	return fmt.Sprintf("the program did not compile (status %d)", p.Status)
}

// neverStarted is the error of an interpreter that ended before pyprof's
// agent started in it (a bad -X option, a wrapper that failed, a crash
// at start-up): nothing was recorded, and an empty profile would say
// that the program ran and called nothing.
func neverStarted(i *agent.Interpreter, waitErr error) error {
	how := "exited"
	if code, sig := exitStatus(waitErr); sig != 0 {
		how = "was killed by " + unix.SignalName(sig)
	} else if code != 0 {
		how = fmt.Sprintf("exited with status %d", code)
	}
	why := "what it printed above says why"
	if dir, err := agent.CacheDir(); err == nil {
		// pyprof's own files run first: one damaged in a way its checks
		// miss fails every run, and a cache made anew mends it.
		why += fmt.Sprintf(" (if that names pyprof's bootstrap, remove %s: pyprof makes it anew)", dir)
	}
	return environment(fmt.Errorf("%s %s before pyprof's agent started in it, so nothing was recorded: %s", i.Path, how, why))
}
