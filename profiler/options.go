package profiler

import (
	"io"
	"os"
	"syscall"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
)

// What a recording is asked to do and what it gives back.

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
	// OnRecording, when set, is called once the agent records, before the
	// program's first line and after the interpreter's own start-up.
	OnRecording func()
	// CPURate is how many times a second each thread's CPU clock is read
	// to charge CPU time to the running paths; 0 measures no CPU time.
	CPURate int
	// TimelineMin, when positive, keeps every call at least this long for a
	// timeline, at most TimelineMax of them (the longest).
	TimelineMin time.Duration
	TimelineMax int
	// Subprocesses follows the program's child processes: forked ones and new Python 3.12+ interpreters it starts each record
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
	// PythonChildren counts the subprocesses running Python that the
	// program started through the subprocess module (trace mode; its
	// audit events tell them), followed or not.
	PythonChildren int
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
