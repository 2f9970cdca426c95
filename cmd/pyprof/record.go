package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/felixge/fgprof"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/report"
	"github.com/pyprof/pyprof/export/timeline"
	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/wire"
)

func init() { commands["record"] = recordCommand }

// recordFlags are record's command-line settings.
type recordFlags struct {
	outputs     []string
	format      string
	mode        string
	python      string
	agent       string
	toolID      int
	bufferSize  string
	maxDepth    int
	quiet       bool
	selfProfile string
	timeline    string
	timelineMin time.Duration
	rate        int
	pid         int
	duration    time.Duration
	idle        bool
	subprocs    bool
	native      bool

	// timelineMinSet is true when --timeline-min was given.
	timelineMinSet bool
	// report prints the call tree at exit; reportSet is true when
	// --report was given, which then holds off a terminal too.
	report, reportSet bool
	views             *viewFlags
	// set holds the flags given on the command line, by name.
	set map[string]bool
	// commandLine is what was run, for the profile's comments.
	commandLine []string
}

func parseRecordFlags(args []string, stderr io.Writer) (*recordFlags, []string, error) {
	f := &recordFlags{}
	fs := pflag.NewFlagSet("record", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The program's own flags follow it untouched: stop at the first word
	// that is not one of ours.
	fs.SetInterspersed(false)
	fs.StringArrayVarP(&f.outputs, "output", "o", nil, "")
	fs.StringVar(&f.format, "format", "", "")
	fs.StringVar(&f.mode, "mode", "trace", "")
	fs.StringVar(&f.python, "python", "", "")
	fs.StringVar(&f.agent, "agent", "auto", "")
	fs.IntVar(&f.toolID, "tool-id", 2, "")
	fs.StringVar(&f.bufferSize, "buffer-size", "8MiB", "")
	fs.IntVar(&f.maxDepth, "max-depth", 2000, "")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "")
	fs.StringVar(&f.selfProfile, "self-profile", "", "")
	fs.StringVar(&f.timeline, "timeline", "", "")
	fs.IntVar(&f.rate, "rate", 100, "")
	fs.IntVar(&f.pid, "pid", 0, "")
	secondsVar(fs, &f.duration, "duration", 0)
	fs.BoolVar(&f.idle, "idle", true, "")
	fs.BoolVar(&f.subprocs, "subprocesses", false, "")
	fs.BoolVar(&f.native, "native-calls", true, "")
	fs.DurationVar(&f.timelineMin, "timeline-min", 100*time.Microsecond, "")
	fs.BoolVar(&f.report, "report", true, "")
	f.views = addViewFlags(fs, false)
	if err := fs.Parse(args); err != nil {
		return nil, nil, flagErrorIn(fs, args, err)
	}
	if err := misplacedFlags(fs, args, fs.Args(), fs.ArgsLenAtDash() >= 0, f.python != ""); err != nil {
		return nil, nil, err
	}
	f.timelineMinSet = fs.Changed("timeline-min")
	f.set = map[string]bool{}
	fs.Visit(func(fl *pflag.Flag) { f.set[fl.Name] = true })
	f.reportSet = fs.Changed("report")
	f.commandLine = fs.Args()
	programFlagNotice(fs, fs.Args(), stderr)
	if len(f.outputs) == 0 {
		f.outputs = []string{"pyprof.pb.gz"}
	}
	if f.pid != 0 && !fs.Changed("mode") {
		// Attaching can only sample: --pid alone says enough.
		f.mode = "sample"
	}
	return f, fs.Args(), nil
}

// output is one file to write and its format.
type output struct {
	path   string
	format export.Format
}

func (f *recordFlags) resolveOutputs(stdout io.Writer) ([]output, error) {
	if err := f.checkStdoutOnce(); err != nil {
		return nil, err
	}
	var outs []output
	for _, path := range f.outputs {
		if path == stdoutName {
			if err := stdoutFormat(f.format); err != nil {
				return nil, err
			}
		}
		format, err := outputFormat(path, f.format)
		if err == nil {
			err = checkStdout(path, format, stdout)
		}
		if err == nil {
			err = checkOutput(path)
		}
		if err != nil {
			return nil, err
		}
		outs = append(outs, output{path, format})
	}
	return outs, nil
}

// checkStdoutOnce refuses to send two outputs to standard output, where
// they would run into each other, and one to a standard output that was
// closed.
func (f *recordFlags) checkStdoutOnce() error {
	var to []string
	for _, path := range append([]string{f.timeline, f.selfProfile}, f.outputs...) {
		if writesStdout(path) {
			to = append(to, path)
		}
	}
	switch {
	case len(to) > 1:
		return usagef("record: %d outputs are - (standard output): one at most", len(to))
	case len(to) == 1:
		return checkStdoutOpen(to[0])
	}
	return nil
}

// outputFormat picks the format of one output: --format, else the extension.
func outputFormat(path, override string) (export.Format, error) {
	var format export.Format
	var err error
	if override != "" {
		format, err = export.ParseFormat(override)
	} else {
		format, err = export.FormatFromPath(path)
	}
	if err != nil {
		return "", usageError{err}
	}
	if export.WriterFor(format) == nil {
		return "", usagef("%s: pyprof cannot write %s files yet", path, format)
	}
	return format, nil
}

// parseSize reads sizes like 8MiB, 512KiB, 8M or 65536.
func parseSize(s string) (uint64, error) {
	units := []struct {
		suffix string
		mult   uint64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	digits, mult := s, uint64(1)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			digits, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(digits), 10, 64)
	// A count that overflows when multiplied could wrap around to a size
	// that looks right: bound it first.
	want := fmt.Sprintf("want a power of two from %dMiB to 1GiB, such as 8MiB", wire.MinRingBytes()>>20)
	if err != nil || n > (1<<30)/mult {
		return 0, usagef("--buffer-size %s: %s", s, want)
	}
	size := n * mult
	if size < 4096 || size&(size-1) != 0 {
		return 0, usagef("--buffer-size %s: %s", s, want)
	}
	return size, nil
}

func recordCommand(args []string, stdout, stderr io.Writer) int {
	quietGC()
	f, words, err := parseRecordFlags(args, stderr)
	if err != nil {
		return exitCode(stderr, err)
	}
	opts, outs, err := f.options(words, stdout)
	if err != nil {
		return exitCode(stderr, err)
	}
	if f.selfProfile != "" {
		stopSelf, err := startSelfProfile(f.selfProfile, stdout)
		if err != nil {
			return exitCode(stderr, err)
		}
		defer func() {
			if err := stopSelf(); err != nil {
				fmt.Fprintf(stderr, "pyprof: --self-profile: %v\n", err)
			}
		}()
	}
	status := newStatusLine(stderr, f.quiet)
	status.attached = f.pid != 0
	status.traceSaysExec = f.mode == "hybrid" && !f.subprocs
	opts.Progress = status.progress
	opts.Notice = status.notice
	opts.Info = status.info
	ctx, signals, catchIgnored, stop := forwardSignals(f.pid != 0)
	defer stop()
	opts.Signals = signals
	unprofiled := f.watchUnprofiled(&opts)
	onStart := opts.OnStart
	opts.OnStart = func(pid int) {
		// The program inherited the signals ignored at start as ignored.
		catchIgnored()
		if onStart != nil {
			onStart(pid)
		}
	}
	if writesPprof(outs) {
		go export.PrepareWriters()
	}
	restoreProcs := f.oneProcWhileRecording()
	res, sst, err := f.run(ctx, opts)
	restoreProcs()
	unprofiledLine := unprofiled(res)
	status.clear()
	if failed := (profiler.ProgramFailed{}); errors.As(err, &failed) {
		// The interpreter said why; what it means for the outputs is
		// pyprof's to say (an older file of that name stays as it was).
		status.info("the program did not compile: nothing ran, no profile written")
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	res.Profile.Comments = f.comments(res, sst)
	if err := f.views.apply(res.Profile); err != nil {
		return exitCode(stderr, err)
	}
	// The program is done: a signal now means stop writing.
	exitOnSignal()
	written, failed := f.writeOutputs(outs, res.Profile, stdout, stderr)
	if f.wantsTree(stderr) {
		writeExitTree(stderr, res.Profile, written)
	}
	status.summary(res, sst, written)
	if unprofiledLine != "" {
		status.info(unprofiledLine)
	}
	if f.wantsTree(stderr) {
		writeLookFurther(stderr, written)
	}
	if failed {
		return exitOutput
	}
	return res.ExitCode
}

// writesPprof reports whether one of outs is a pprof profile, whose
// compressor is best made while the program runs.
func writesPprof(outs []output) bool {
	for _, o := range outs {
		if o.format == export.Pprof {
			return true
		}
	}
	return false
}

// writeOutputs writes every output it can, the timeline last: the run
// cannot be repeated, so one output that fails (a full disk, a folder
// removed meanwhile) must not cost the others. Each failure is reported in
// one line as it happens. It returns the outputs written and whether any
// failed.
func (f *recordFlags) writeOutputs(outs []output, p *callgraph.Profile, stdout, stderr io.Writer) (written []output, failed bool) {
	report := func(o output, err error) {
		if err != nil {
			exitCode(stderr, err)
			failed = true
			return
		}
		written = append(written, o)
	}
	for _, o := range outs {
		report(o, writeProfile(o, p, f.maxDepth, stdout))
	}
	if f.timeline != "" {
		report(output{path: f.timeline}, writeFile(f.timeline, stdout, func(w io.Writer) error { return timeline.Write(w, p) }))
	}
	return written, failed
}

// comments describe the recording inside the profile (pprof's comments,
// `go tool pprof -comments`): what made it, with which interpreter, and
// what the summary line says of lost events and waits, which -q does not
// print.
func (f *recordFlags) comments(res *profiler.Result, sst *profiler.SampleStats) []string {
	mode := f.mode + " mode"
	if f.pid != 0 {
		mode = fmt.Sprintf("sample mode, attached to pid %d", f.pid)
	}
	out := []string{fmt.Sprintf("pyprof %s, %s", version, mode)}
	if len(f.commandLine) > 0 {
		out = append(out, "command: "+shellQuote(f.commandLine))
	}
	switch i := res.Interpreter; {
	case sst != nil && sst.Python != "" && (i == nil || f.mode == "sample"):
		// What the sampler read in the process itself: the interpreter's
		// file can say another version than a wrapper or an exec ran.
		out = append(out, fmt.Sprintf("python: %s (%s)", sst.Python, sst.Executable))
	case i != nil:
		out = append(out, fmt.Sprintf("python: %s (%s)", i.VersionString(), i.Executable))
	}
	if res.Agent != nil {
		out = append(out, "agent: "+agentName(res.Agent))
	}
	st := res.Stats
	if sst != nil {
		out = append(out, fmt.Sprintf("samples: %d at %.0f Hz, %d missed, %d dropped", sst.Samples, sst.Rate(), sst.Missed, sst.Dropped))
		if sst.Execs > 0 {
			out = append(out, fmt.Sprintf("exec: the program exec'd a new Python %s, sampled on as the same process; python: names the last", times(sst.Execs)))
		}
		if sst.ExecedAway != "" {
			out = append(out, "exec: "+execedAwayNote(sst))
		}
		if c := sst.UnobservedComment(); c != "" {
			out = append(out, c)
		}
	}
	if sst == nil || st.Events > 0 {
		out = append(out, fmt.Sprintf("events: %d, lost: %d", st.Events, st.Lost),
			profiler.WaitComment+st.ProducerWait.String())
	}
	return append(out, unplacedComments(res.Profile, f.mode != "sample")...)
}

// unplacedComments say how much measured CPU and GIL time no function
// could hold without holding more of it than wall time (time used before
// tracing began, or outside any traced call): it is left out of the
// functions' values, and said here so that it is not lost silently.
func unplacedComments(p *callgraph.Profile, traced bool) []string {
	var out []string
	if p == nil {
		return nil
	}
	// Sample mode traces no call: its CPU time can only run past the wall
	// time of the stacks it was measured beside.
	cpuWhy, gilWhy := "past the wall time of the stacks sampled", "past the wall time of the stacks sampled"
	if traced {
		cpuWhy, gilWhy = "measured outside the calls traced, or past their wall time", "sampled outside the calls traced"
	}
	if p.CPUUnplaced > 0 {
		out = append(out, fmt.Sprintf("cpu not charged to any function: %s (%s)", p.CPUUnplaced.Round(time.Microsecond), cpuWhy))
	}
	if p.GILUnplaced > 0 {
		out = append(out, fmt.Sprintf("gil not charged to any function: %s (%s)", p.GILUnplaced.Round(time.Microsecond), gilWhy))
	}
	return out
}

// run records in the chosen mode.
func (f *recordFlags) run(ctx context.Context, opts profiler.Options) (*profiler.Result, *profiler.SampleStats, error) {
	// In hybrid mode the trace follows the children (opts.Subprocesses).
	so := profiler.SampleOptions{Rate: f.rate, Idle: f.idle, Duration: f.duration, Subprocesses: f.subprocs && f.mode == "sample"}
	switch {
	case f.pid != 0:
		prof, st, err := profiler.AttachSampled(ctx, f.pid, so)
		if prof == nil {
			return nil, nil, explainNotPython(f.pid, err)
		}
		res := &profiler.Result{Profile: prof, Stats: profiler.Stats{Elapsed: st.Elapsed, Threads: len(prof.Threads), Lost: prof.Lost}}
		if err != nil { // the process exited: what was sampled is kept
			opts.Notice(fmt.Sprintf("pid %d exited after %s; writing what was sampled", f.pid, st.Elapsed.Round(time.Millisecond)))
		}
		return res, &st, nil
	case f.mode == "sample":
		res, st, err := profiler.RecordSampled(ctx, opts, so)
		return res, &st, err
	case f.mode == "hybrid":
		res, st, err := profiler.RecordHybrid(ctx, opts, so)
		return res, &st, err
	}
	res, err := profiler.Record(ctx, opts)
	return res, nil, err
}

// oneProcWhileRecording lets the Go runtime run pyprof's code on one
// thread at a time while a trace recording runs, and returns what undoes
// that. A trace recording's work is one loop that drains the rings (the
// decoding and tree building happen in it), so a second processor buys it
// nothing; but with two, every wakeup of the loop also wakes an idle
// runtime thread to look for work, in vain. Measured here on a program
// whose threads mostly slept, one processor cut pyprof's context switches
// by a third and its CPU time by a fifth: wakeups that land on the CPUs
// the program's threads wait for. Sample and hybrid modes read stacks while
// the rings drain, and keep every processor; so does writing the outputs,
// which happens in parallel.
func (f *recordFlags) oneProcWhileRecording() (restore func()) {
	if f.mode != "trace" || f.pid != 0 {
		return func() {}
	}
	before := runtime.GOMAXPROCS(1)
	return func() {
		if os.Getenv("GOMAXPROCS") == "" {
			// Back to the runtime's own choice, which it keeps up to date
			// with the CPUs pyprof may use.
			runtime.SetDefaultGOMAXPROCS()
			return
		}
		runtime.GOMAXPROCS(before)
	}
}

// checkMode checks that mode, --pid and the program words fit together.
func (f *recordFlags) checkMode(words []string) error {
	switch f.mode {
	case "trace", "sample", "hybrid":
	default:
		return usagef("--mode %s: use trace, sample or hybrid", f.mode)
	}
	if f.pid != 0 && f.mode != "sample" {
		return usagef("--pid attaches in sample mode only: drop --mode %s", f.mode)
	}
	if f.pid != 0 && len(words) > 0 {
		return usagef("--pid %d attaches to a running process: give no program to run", f.pid)
	}
	if f.pid < 0 {
		return usagef("--pid %d: want a process id", f.pid)
	}
	if f.mode != "trace" && f.rate == 0 {
		return usagef("--rate 0: %s mode samples stacks and needs a rate, such as 100", f.mode)
	}
	if f.duration < 0 {
		return usagef("--duration %v: want a positive duration", f.duration)
	}
	// Sample mode records no calls at all.
	if !f.native && f.mode == "sample" {
		return usagef("--native-calls=false is for trace and hybrid modes (--mode sample)")
	}
	return f.checkApplicable()
}

// options checks everything that can be checked before the program runs,
// so that it never runs for nothing.
func (f *recordFlags) options(words []string, stdout io.Writer) (profiler.Options, []output, error) {
	var o profiler.Options
	if err := f.checkMode(words); err != nil {
		return o, nil, err
	}
	if f.rate < 0 || f.rate > 10000 {
		return o, nil, usagef("--rate %d: want 0 to 10000 readings a second", f.rate)
	}
	kind, err := agent.ParseKind(f.agent)
	if err != nil {
		return o, nil, usageError{err}
	}
	if f.toolID < 0 || f.toolID > 5 {
		return o, nil, usagef("--tool-id %d: sys.monitoring tool ids run from 0 to 5", f.toolID)
	}
	if f.maxDepth < 1 {
		return o, nil, usagef("--max-depth %d: want at least 1", f.maxDepth)
	}
	size, err := parseSize(f.bufferSize)
	if err != nil {
		return o, nil, err
	}
	var target profiler.Target
	if f.pid == 0 {
		if target, err = profiler.ParseTarget(words, f.python != ""); err != nil {
			return o, nil, usageError{err}
		}
	}
	if err := f.checkNotScript(target); err != nil {
		return o, nil, err
	}
	outs, err := f.resolveOutputs(stdout)
	if err != nil {
		return o, nil, err
	}
	if f.selfProfile != "" {
		if err := checkOutput(f.selfProfile); err != nil {
			return o, nil, err
		}
	}
	var timelineMin time.Duration
	if f.timeline != "" {
		if err := checkOutput(f.timeline); err != nil {
			return o, nil, err
		}
		if f.timelineMin <= 0 {
			return o, nil, usagef("--timeline-min %v: want a positive duration such as 100us", f.timelineMin)
		}
		timelineMin = f.timelineMin
	}
	return profiler.Options{
		TimelineMin: timelineMin, TimelineMax: maxTimelineSpans, CPURate: f.rate,
		Target: target, Python: f.python, Agent: kind, ToolID: f.toolID,
		RingBytes: size, Slots: profiler.DefaultSlots, Poll: time.Millisecond, Subprocesses: f.subprocs, SkipNative: !f.native,
		Stdin: os.Stdin, Stdout: f.programStdout(), Stderr: os.Stderr,
	}, outs, nil
}

// programStdout is where the program's standard output goes: pyprof's,
// unless a profile goes there, which the program's output would corrupt;
// then to standard error.
func (f *recordFlags) programStdout() *os.File {
	if writesStdout(f.timeline) || writesStdout(f.selfProfile) || slices.ContainsFunc(f.outputs, writesStdout) {
		return os.Stderr
	}
	return os.Stdout
}

// maxTimelineSpans bounds --timeline on long runs (about 100 bytes of JSON
// each): past it, the shortest calls are dropped and the threshold rises.
const maxTimelineSpans = 500_000

func writeProfile(o output, p *callgraph.Profile, maxDepth int, stdout io.Writer) error {
	write := export.WriterFor(o.format)
	return writeFile(o.path, stdout, func(w io.Writer) error {
		return write(w, p, export.Options{MaxDepth: maxDepth})
	})
}

// statusLine draws the live status while recording and the summary after.
type statusLine struct {
	w     io.Writer
	live  bool
	quiet bool
	drawn bool
	// attached is set when sampling a running process (--pid).
	attached bool
	// traceSaysExec is set where the trace says when the program exec'd
	// (hybrid mode without --subprocesses), which the samples end at too.
	traceSaysExec bool
}

// newStatusLine draws the live line only where it cannot garble the
// program's own output: on a terminal that the program's stdout is not
// writing to (redrawing a shared line would erase what the program printed).
func newStatusLine(w io.Writer, quiet bool) *statusLine {
	f, ok := w.(*os.File)
	live := !quiet && ok && term.IsTerminal(int(f.Fd())) && !sameFile(f, os.Stdout)
	return &statusLine{w: w, quiet: quiet, live: live}
}

// sameFile reports whether a and b are the same open file or device.
func sameFile(a, b *os.File) bool {
	x, errA := a.Stat()
	y, errB := b.Stat()
	return errA == nil && errB == nil && os.SameFile(x, y)
}

func (s *statusLine) progress(st profiler.Stats) {
	if !s.live {
		return
	}
	fmt.Fprintf(s.w, "\r\033[Kpyprof: %s  %s events  %s", st.Elapsed.Round(100*time.Millisecond), count(st.Events), plural(st.Threads, "thread"))
	s.drawn = true
}

func (s *statusLine) clear() {
	if s.drawn {
		fmt.Fprint(s.w, "\r\033[K")
		s.drawn = false
	}
}

func (s *statusLine) notice(msg string) {
	s.clear()
	fmt.Fprintln(s.w, "pyprof:", msg)
}

// info is a notice that only informs: -q leaves it out.
func (s *statusLine) info(msg string) {
	if !s.quiet {
		s.notice(msg)
	}
}

// summary is record's closing line: what was recorded, what was written
// and what went wrong, fitted to 80 columns (or a narrower terminal) by
// breaking it after a comma or semicolon, never inside a fact.
func (s *statusLine) summary(res *profiler.Result, sst *profiler.SampleStats, outs []output) {
	st := res.Stats
	noSamples := sst != nil && sst.Samples == 0
	if s.quiet && st.Lost == 0 && !noSamples {
		return
	}
	recorded := clause{count(st.Events) + " events"}
	if sst != nil {
		sampled := fmt.Sprintf("%s samples at %.0f Hz (%s missed, %s dropped)", count(sst.Samples), sst.Rate(), count(sst.Missed), count(sst.Dropped))
		recorded = clause{sampled}
		if st.Events > 0 {
			recorded = clause{count(st.Events) + " events", sampled}
		}
	}
	recorded[0] = "pyprof: " + recorded[0]
	recorded = append(recorded, plural(len(res.Profile.Threads), "thread"),
		plural(len(res.Profile.Funcs), "function"), st.Elapsed.Round(time.Millisecond).String())
	clauses := []clause{recorded, wroteClause(outs)}
	if noSamples {
		// A hybrid run takes its CPU time and lines from the samples: say
		// why they are all zero rather than let the profile look idle.
		clauses = append(clauses, clause{"NO SAMPLES: " + s.whyNoSamples(sst)})
	}
	if st.Lost > 0 && sst == nil {
		clauses = append(clauses, clause{fmt.Sprintf("LOST %s events (shown as a [lost] frame)", count(st.Lost))})
	}
	if sst != nil && sst.AfterLast > 0 && sst.AfterLast >= 10*sst.Period {
		clauses = append(clauses, clause{fmt.Sprintf("the last %s before the exit is in no sample (pyprof was not run meanwhile)",
			sst.AfterLast.Round(time.Millisecond))})
	}
	if st.ProducerWait > 0 {
		clauses = append(clauses, clause{fmt.Sprintf("the program waited %s for pyprof", st.ProducerWait.Round(time.Microsecond))})
	}
	if st.DecodeErrors > 0 {
		clauses = append(clauses, clause{fmt.Sprintf("%d damaged rings", st.DecodeErrors)})
	}
	if st.Children > 0 {
		clauses = append(clauses, followedNote(st, res.Profile)...)
	} else if sst != nil && sst.Execs > 0 {
		clauses = append(clauses, clause{"followed the program into the Python it exec'd (the same process)"})
	}
	if sst != nil && sst.Children > 0 && st.Children == 0 {
		procs := fmt.Sprintf("sampled %d child processes", sst.Children)
		if sst.Children == 1 {
			procs = "sampled 1 child process"
		}
		clauses = append(clauses, clause{procs})
	}
	if sst != nil && sst.ExecedAway != "" && !s.traceSaysExec {
		clauses = append(clauses, clause{execedAwayNote(sst)})
	}
	if res.Signaled != 0 {
		clauses = append(clauses, clause{fmt.Sprintf("the program was killed by %s (%v)", unix.SignalName(res.Signaled), res.Signaled)})
	}
	if a := res.Agent; a != nil && agentName(a) != "c" {
		clauses = append(clauses, clause{"agent: " + agentName(a)})
	}
	for _, line := range fitClauses(clauses, min(report.DefaultWidth, terminalWidth(s.w)), "  ") {
		fmt.Fprintln(s.w, line)
	}
}

// wroteClause names the outputs written, one part each.
func wroteClause(outs []output) clause {
	var paths clause
	for _, o := range outs {
		if isStdout(o.path) {
			paths = append(paths, "standard output")
			continue
		}
		paths = append(paths, report.Printable(o.path))
	}
	if len(paths) == 0 {
		// Every output failed; each failure was said on a line of its own.
		return clause{"wrote nothing"}
	}
	paths[0] = "wrote " + paths[0]
	return paths
}

// followedNote says which processes --subprocesses followed. The program
// itself registers again when it execs a new Python, as a child would, but
// it is still the same process and no child: its pid is that of the
// program's main thread (on Linux a process's first thread id is its pid).
func followedNote(st profiler.Stats, p *callgraph.Profile) []clause {
	execs := execedPIDs(p)
	var notes []clause
	if n := st.Children - execs; n > 0 {
		procs := "child processes"
		if n == 1 {
			procs = "child process"
		}
		notes = append(notes, clause{fmt.Sprintf("followed %d %s", n, procs)})
	}
	if execs > 0 {
		notes = append(notes, clause{"followed the program into the Python it exec'd (the same process)"})
	}
	if st.ChildrenRunning > 0 && len(notes) > 0 {
		last := notes[len(notes)-1]
		last[0] += fmt.Sprintf(" (%d still running at the end: profiled until then)", st.ChildrenRunning)
	}
	return notes
}

// execedPIDs counts the followed processes that are the program itself
// after an exec: their pid is a thread id of the program's own threads.
func execedPIDs(p *callgraph.Profile) int {
	own := map[int64]bool{}
	for _, th := range p.Threads {
		if th.PID == 0 {
			own[th.ID] = true
		}
	}
	seen := map[int64]bool{}
	for _, th := range p.Threads {
		if th.PID != 0 && own[th.PID] {
			seen[th.PID] = true
		}
	}
	return len(seen)
}

// agentName is what recorded the events: c, python (the twin) or null.
func agentName(a *agent.Prepared) string {
	if a.Null {
		return "null"
	}
	return string(a.Kind)
}

// whyNoSamples says why a sampled run has no sample.
func (s *statusLine) whyNoSamples(sst *profiler.SampleStats) string {
	switch {
	case sst.Dropped > 0:
		return "every read found the stacks moving"
	case s.attached:
		return "sampling ended before its first read"
	}
	return "the program ended before the sampler's first read"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// count writes n with thousands separators, as every table writes counts.
func count(n int64) string {
	return report.Human(callgraph.Calls, n)
}

// startSelfProfile profiles pyprof's own Go side with fgprof, which sees
// wall-clock time on and off CPU: where the consumer waits matters as much
// as where it computes. fgprof writes the profile when stopped; it goes to
// memory first, so that path is written like every other output.
func startSelfProfile(path string, stdout io.Writer) (func() error, error) {
	if err := checkOutput(path); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	stop := fgprof.Start(&buf, fgprof.FormatPprof)
	return func() error {
		if err := stop(); err != nil {
			return err
		}
		return writeFile(path, stdout, func(w io.Writer) error {
			_, err := buf.WriteTo(w)
			return err
		})
	}, nil
}

// times says how many times: "once", "twice", "3 times".
func times(n int64) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// execedAwayNote says that sampling ended where the program exec'd a
// program that is not sampled.
func execedAwayNote(sst *profiler.SampleStats) string {
	return fmt.Sprintf("sampling ended after %v, when the program exec'd %s",
		sst.Elapsed.Round(time.Millisecond), report.Printable(sst.ExecedAway))
}
