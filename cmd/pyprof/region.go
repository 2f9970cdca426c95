package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/agent"
)

func init() { commands["_consume"] = consumeCommand }

// consumeCommand is the other half of pyprof's Python API (the pyprof
// package of the wheel), which starts it as `pyprof _consume --fd N` with
// one end of a SOCK_SEQPACKET socket pair as descriptor N. It starts a
// copy of itself that no process waits for, and exits: the agent in the
// program tells that pyprof lives from its pid, which a child of the
// program's that died unreaped would keep. The copy answers the program's
// requests (one JSON object a message, one answer each, after a pending
// message for every second it takes; see
// regionRequest) until the program closes its end, and then writes the
// profile of a region still recording. `pyprof help` does not list it:
// only the package runs it.
func consumeCommand(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("_consume", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fd := fs.Int("fd", 3, "")
	detached := fs.Bool("detached", false, "")
	if err := fs.Parse(args); err != nil {
		return exitCode(stderr, usagef("_consume: %v", err))
	}
	conn, err := controlSocket(*fd)
	if err != nil {
		return exitCode(stderr, err)
	}
	defer conn.Close()
	if !*detached {
		return exitCode(stderr, detach(conn))
	}
	server := &regionServer{conn: conn}
	defer server.close()
	return exitCode(stderr, server.serve())
}

// controlSocket takes over descriptor fd, which must be the Unix
// SOCK_SEQPACKET socket the Python package passes.
func controlSocket(fd int) (*net.UnixConn, error) {
	wrong := usagef("_consume: descriptor %d is not the socket pyprof's Python package passes: `import pyprof` runs this command, not a shell", fd)
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_SEQPACKET {
		return nil, wrong
	}
	f := os.NewFile(uintptr(fd), "pyprof-control")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, wrong
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, wrong
	}
	return uc, nil
}

// detach starts the copy of this command that serves the program, in a
// session of its own (the terminal's Ctrl-C is the program's to handle),
// and leaves it running.
func detach(conn *net.UnixConn) error {
	exe, err := os.Executable()
	if err != nil {
		return profilerEnv(fmt.Errorf("_consume: finding pyprof's own executable: %w", err))
	}
	f, err := conn.File()
	if err != nil {
		return profilerEnv(fmt.Errorf("_consume: %w", err))
	}
	defer f.Close()
	cmd := exec.Command(exe, "_consume", "--detached", "--fd", "3")
	cmd.ExtraFiles = []*os.File{f}
	// Nothing of the program's: its stderr would stay open as long as
	// pyprof runs (a pipe to a pager would not end with the program),
	// and its working folder could not be removed or unmounted. The
	// copy's errors go back through the socket.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return profilerEnv(fmt.Errorf("_consume: starting %s: %w", exe, err))
	}
	// Not waited for: once this process exits, init (or the nearest
	// subreaper) reaps the copy when it ends.
	return cmd.Process.Release()
}

// environmentError is an error of the machine pyprof runs on (exit
// status 3), in its own words.
type environmentError struct{ err error }

func (e environmentError) Error() string   { return e.err.Error() }
func (e environmentError) Unwrap() []error { return []error{e.err, profiler.ErrEnvironment} }

func profilerEnv(err error) error { return environmentError{err} }

// regionRequest is one request of the Python package. Op is
//   - "hello": the program describes itself (PID, Python, Executable,
//     FreeThreaded); the answer gives pyprof's version and pid;
//   - "agent": make the rings and the agent for trace mode; the answer
//     gives the agent's and the bootstrap's paths, with the rings' memfd
//     attached (SCM_RIGHTS);
//   - "start": begin a region in Mode trace or sample, to be written to
//     Outputs (absolute paths, checked now), with the Names of the
//     threads alive (native id to name); trace mode reads CPU clocks
//     Rate times a second, sample mode samples at Rate, leaves out frames
//     of Hidden files and, by native thread id, the Running frames,
//     outermost first;
//   - "cpu": read the CPU clocks of a trace region's threads now, as
//     the program is about to end it;
//   - "stop": end it, name its threads from Names, then the start's,
//     write the outputs; the answer summarises the profile and numbers
//     the region;
//   - "abort": end it and write nothing;
//   - "write": write the profile of Region, the last one, to Path.
type regionRequest struct {
	// Seq numbers the request; its answer carries it back.
	Seq          int64                             `json:"seq"`
	Op           string                            `json:"op"`
	PID          int                               `json:"pid"`
	Python       string                            `json:"python"`
	Executable   string                            `json:"executable"`
	FreeThreaded bool                              `json:"free_threaded"`
	Mode         string                            `json:"mode"`
	Outputs      []string                          `json:"outputs"`
	Rate         int                               `json:"rate"`
	Hidden       []string                          `json:"hidden"`
	Running      map[int64][]profiler.RunningFrame `json:"running"`
	Names        map[int64]string                  `json:"names"`
	Path         string                            `json:"path"`
	// Region is the number stop gave the region to write.
	Region int `json:"region"`
}

// regionReply answers a request: OK, or Error in one line.
type regionReply struct {
	Seq int64 `json:"seq"`
	// Pending says the answer to request Seq is coming: it takes long.
	Pending   bool           `json:"pending,omitempty"`
	OK        bool           `json:"ok"`
	Error     string         `json:"error,omitempty"`
	Version   string         `json:"version,omitempty"`
	PID       int            `json:"pid,omitempty"`
	Agent     string         `json:"agent,omitempty"`
	Kind      string         `json:"kind,omitempty"`
	Bootstrap string         `json:"bootstrap,omitempty"`
	Summary   *regionSummary `json:"summary,omitempty"`
}

// regionSummary is what the package tells of a region's profile.
type regionSummary struct {
	// Region numbers the regions of the program: write names one.
	Region    int      `json:"region"`
	Events    int64    `json:"events"`
	Samples   int64    `json:"samples"`
	Lost      int64    `json:"lost"`
	Threads   int      `json:"threads"`
	Functions int      `json:"functions"`
	Seconds   float64  `json:"seconds"`
	WaitNanos int64    `json:"wait_ns"`
	Wrote     []string `json:"wrote"`
}

// regionServer serves one program.
type regionServer struct {
	conn    *net.UnixConn
	program regionRequest // its hello
	trace   *profiler.Regions
	sampled *profiler.SampledRegions
	active  *activeRegion
	// last is the profile of the last region, numbered regions.
	last    *callgraph.Profile
	regions int
}

// activeRegion is the region recording now.
type activeRegion struct {
	mode    string
	outputs []output
	// names are those of the threads alive when it began.
	names map[int64]string
}

// maxRequest bounds one request: the largest is sample mode's start,
// which lists the frames every thread was running.
const maxRequest = 4 << 20

// Rings and CPU readings of trace mode: 8 MiB rings and 100 readings a
// second, as record's defaults; slots for a server's thread pool of
// thousands (a slot no thread takes costs its 128-byte control block).
const (
	regionRingBytes = 8 << 20
	regionSlots     = 4096
	regionCPURate   = 100
)

func (s *regionServer) serve() error {
	buf := make([]byte, maxRequest)
	for {
		n, _, flags, _, err := s.conn.ReadMsgUnix(buf, nil)
		if err != nil || n == 0 {
			// The program closed its end, or exited: a region it left
			// recording is written as record writes a program that died.
			if s.active != nil {
				_, _ = s.stop(nil)
			}
			return nil
		}
		var reply regionReply
		var rights []byte
		var req regionRequest
		switch {
		case flags&unix.MSG_TRUNC != 0:
			reply.Error = fmt.Sprintf("request longer than %d bytes", maxRequest)
		case json.Unmarshal(buf[:n], &req) != nil:
			reply.Error = "request is not JSON"
		default:
			reply, rights = s.handleAnswering(&req)
		}
		reply.Seq = req.Seq
		out, _ := json.Marshal(reply)
		if _, _, err := s.conn.WriteMsgUnix(out, rights, nil); err != nil {
			return nil // the program is gone
		}
	}
}

// pendingEvery is how often a request that takes long is said to be
// pending: the program gives up on a pyprof that says nothing for a few
// seconds (stopped, or hung), and writing a large profile can take longer.
const pendingEvery = time.Second

// handleAnswering handles req while telling the program, every
// pendingEvery, that its answer is coming.
func (s *regionServer) handleAnswering(req *regionRequest) (regionReply, []byte) {
	var reply regionReply
	var rights []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		reply, rights = s.handle(req)
	}()
	tick := time.NewTicker(pendingEvery)
	defer tick.Stop()
	pending, _ := json.Marshal(regionReply{Seq: req.Seq, Pending: true})
	for {
		select {
		case <-done:
			return reply, rights
		case <-tick.C:
			_, _, _ = s.conn.WriteMsgUnix(pending, nil, nil)
		}
	}
}

func (s *regionServer) handle(req *regionRequest) (regionReply, []byte) {
	var reply regionReply
	var rights []byte
	var err error
	switch req.Op {
	case "hello":
		s.program = *req
		reply.Version, reply.PID = version, os.Getpid()
	case "agent":
		reply, rights, err = s.agent()
	case "start":
		err = s.start(req)
	case "stop":
		reply.Summary, err = s.stop(req.Names)
	case "cpu":
		if s.trace != nil && s.active != nil && s.active.mode == "trace" {
			s.trace.ReadCPU()
		}
	case "abort":
		err = s.abort()
	case "write":
		err = s.write(req.Path, req.Region)
	default:
		err = fmt.Errorf("unknown request %q", req.Op)
	}
	if err != nil {
		// A stop that could not write keeps its summary: the region is
		// recorded all the same.
		return regionReply{Error: strings.ReplaceAll(err.Error(), "\n", "; "), Summary: reply.Summary}, nil
	}
	reply.OK = true
	return reply, rights
}

// agent makes trace mode's rings and agent, once.
func (s *regionServer) agent() (regionReply, []byte, error) {
	if s.trace == nil {
		i, err := s.interpreter()
		if err != nil {
			return regionReply{}, nil, err
		}
		s.trace, err = profiler.NewRegions(profiler.RegionOptions{
			PID: s.program.PID, Interpreter: i, Agent: agent.Auto,
			RingBytes: regionRingBytes, Slots: regionSlots, Poll: time.Millisecond, CPURate: regionCPURate,
		})
		if err != nil {
			return regionReply{}, nil, err
		}
	}
	prep := s.trace.Agent()
	reply := regionReply{Agent: prep.Path, Kind: string(prep.Kind), Bootstrap: prep.Bootstrap}
	return reply, unix.UnixRights(int(s.trace.Rings().Fd())), nil
}

// interpreter is the program's Python as its hello described it.
func (s *regionServer) interpreter() (*agent.Interpreter, error) {
	p := s.program
	i := &agent.Interpreter{Path: p.Executable, Executable: p.Executable, FreeThreaded: p.FreeThreaded,
		HasMonitoring: true, Implementation: "cpython"}
	if p.PID <= 0 || p.Executable == "" {
		return nil, errors.New("the program has not said hello")
	}
	if _, err := fmt.Sscanf(p.Python, "%d.%d.%d", &i.Version[0], &i.Version[1], &i.Version[2]); err != nil {
		return nil, fmt.Errorf("python version %q: want 3.N.M", p.Python)
	}
	return i, nil
}

func (s *regionServer) start(req *regionRequest) error {
	if s.active != nil {
		return errors.New("a region is recording already")
	}
	var outs []output
	for _, path := range req.Outputs {
		format, err := outputFormat(path, "")
		if err == nil {
			// Also makes a file in its folder, and removes it: a folder
			// can look writable and refuse new files (/proc).
			err = checkOutput(path)
		}
		if err != nil {
			return err
		}
		outs = append(outs, output{path, format})
	}
	var err error
	switch req.Mode {
	case "trace":
		if s.trace == nil {
			return errors.New("trace mode needs the agent first")
		}
		if req.Rate < 1 || req.Rate > 10000 {
			return fmt.Errorf("rate %d: want 1 to 10000 CPU readings a second", req.Rate)
		}
		err = s.trace.Begin(req.Rate)
	case "sample":
		err = s.beginSampled(req)
	default:
		err = fmt.Errorf("mode %q: use trace or sample", req.Mode)
	}
	if err != nil {
		return err
	}
	s.active = &activeRegion{mode: req.Mode, outputs: outs, names: req.Names}
	return nil
}

// inUserTerms names the output path in err where it names the temporary
// file the output was being written to: the program knows only its path.
func inUserTerms(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path != path {
		return fmt.Errorf("writing %s: %w", path, pe.Err)
	}
	return err
}

func (s *regionServer) beginSampled(req *regionRequest) error {
	if req.Rate < 1 || req.Rate > 10000 {
		return fmt.Errorf("rate %d: want 1 to 10000 samples a second", req.Rate)
	}
	if s.sampled == nil {
		var err error
		if s.sampled, err = profiler.NewSampledRegions(s.program.PID); err != nil {
			return err
		}
	}
	return s.sampled.Begin(profiler.SampleOptions{Rate: req.Rate, Idle: true}, req.Hidden, req.Running)
}

// end ends the active region and returns its profile, with comments.
func (s *regionServer) end(names map[int64]string) (*profiler.Result, *profiler.SampleStats, error) {
	mode := s.active.mode
	names = mergeNames(s.active.names, names)
	s.active = nil
	var res *profiler.Result
	var sst *profiler.SampleStats
	if mode == "trace" {
		var err error
		if res, err = s.trace.End(names); err != nil {
			return nil, nil, err
		}
	} else {
		prof, st, err := s.sampled.End(names)
		if err != nil {
			return nil, nil, err
		}
		res = &profiler.Result{Profile: prof, Stats: profiler.Stats{Elapsed: st.Elapsed, Threads: len(prof.Threads), Lost: prof.Lost}}
		sst = &st
	}
	if i, err := s.interpreter(); err == nil {
		res.Interpreter = i
	}
	comments := (&recordFlags{mode: mode}).comments(res, sst)
	comments[0] += fmt.Sprintf(", a region of pid %d (pyprof's Python API)", s.program.PID)
	res.Profile.Comments = comments
	return res, sst, nil
}

// mergeNames names threads by their names at the start of a region,
// then at its end, which win.
func mergeNames(start, end map[int64]string) map[int64]string {
	merged := maps.Clone(start)
	if merged == nil {
		merged = map[int64]string{}
	}
	maps.Copy(merged, end)
	return merged
}

// stop ends the active region and writes its outputs. The profile is
// kept, and its summary returned, even when an output cannot be written:
// write can still save it elsewhere.
func (s *regionServer) stop(names map[int64]string) (*regionSummary, error) {
	if s.active == nil {
		return nil, errors.New("no region is recording")
	}
	outs := s.active.outputs
	res, sst, err := s.end(names)
	if err != nil {
		return nil, err
	}
	s.last = res.Profile
	s.regions++
	sum := &regionSummary{Region: s.regions, Events: res.Stats.Events, Lost: res.Stats.Lost, Threads: len(res.Profile.Threads),
		Functions: len(res.Profile.Funcs), Seconds: res.Stats.Elapsed.Seconds(), WaitNanos: int64(res.Stats.ProducerWait)}
	if sst != nil {
		sum.Samples = sst.Samples
	}
	var failed []error
	for _, o := range outs {
		if err := writeProfile(o, res.Profile, defaultMaxDepth, io.Discard); err != nil {
			failed = append(failed, inUserTerms(o.path, err))
			continue
		}
		sum.Wrote = append(sum.Wrote, o.path)
	}
	return sum, errors.Join(failed...)
}

func (s *regionServer) abort() error {
	if s.active == nil {
		return nil
	}
	_, _, err := s.end(nil)
	return err
}

func (s *regionServer) write(path string, region int) error {
	switch {
	case s.last == nil:
		return errors.New("no profile to write: stop a region first")
	case region != s.regions:
		return fmt.Errorf("region %d's profile is gone: pyprof keeps the last region's only (%d), so write a region's before the next one starts", region, s.regions)
	}
	format, err := outputFormat(path, "")
	if err != nil {
		return err
	}
	return inUserTerms(path, writeProfile(output{path, format}, s.last, defaultMaxDepth, io.Discard))
}

func (s *regionServer) close() {
	if s.trace != nil {
		s.trace.Close()
	}
	if s.sampled != nil {
		s.sampled.Close()
	}
}

// defaultMaxDepth is record's --max-depth default.
const defaultMaxDepth = 2000
