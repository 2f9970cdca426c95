package profiler

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/clock"
	"github.com/pyprof/pyprof/profiler/ring"
	"github.com/pyprof/pyprof/profiler/wire"
)

// Record: a trace-mode recording from start to profile.

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
	res, err := recordOnce(ctx, o, i)
	if errors.Is(err, errReadWrongVersion) {
		// The interpreter's file named another version than the one the
		// loader gave it (a libpython found by rules pyprof does not
		// repeat). The bootstrap stopped before the program ran: ask the
		// interpreter itself, and start again.
		path := i.Path
		if i, err = agent.Probe(path); err != nil {
			return nil, environment(fmt.Errorf("%s does not run as a Python interpreter: pass --python PATH to a python3.12 or newer", path))
		}
		res, err = recordOnce(ctx, o, i)
	}
	return res, err
}

// errReadWrongVersion: the bootstrap found another Python version than
// the one read from the interpreter's file.
var errReadWrongVersion = errors.New("the interpreter runs another version than its file says")

func recordOnce(ctx context.Context, o Options, i *agent.Interpreter) (*Result, error) {
	// The rings are made while the agent is prepared: each takes a
	// millisecond or two, all of it before the program starts. They are
	// made for the clock the agent asked for reads; an agent that falls
	// back to the twin gets rings made anew.
	kind := clockFor(o.Agent)
	rings := make(chan madeRings, 1)
	go func() { rings <- makeRings(o, kind) }()
	prep, err := agent.Prepare(i, o.Agent)
	made := <-rings
	defer func() {
		if made.shm != nil {
			made.shm.Close()
		}
	}()
	if err != nil {
		if errors.Is(err, agent.ErrBuild) {
			return nil, environment(fmt.Errorf("%w (--agent python needs no compiler)", err))
		}
		return nil, environment(err)
	}
	if prep.Warning != "" {
		o.notice(prep.Warning)
	}
	if k := clockFor(prep.Kind); k != kind && made.err == nil {
		made.shm.Close()
		kind, made = k, makeRings(o, k)
	}
	if made.err != nil {
		return nil, environment(made.err)
	}
	shm := made.shm
	s := &session{o: o, clk: kind, builder: callgraph.NewBuilder()}
	s.main = s.newProc(0, shm, s.builder.Main())
	if o.Subprocesses {
		if s.children, err = agent.PrepareChildren(); err != nil {
			return nil, environment(err)
		}
		if s.listener, err = newChildListener(s.clk); err != nil {
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

// clockFor is the clock an agent of kind k timestamps events with: the
// twin, in Python, reads the monotonic clock; the C agent the best one.
func clockFor(k agent.Kind) clock.Kind {
	if k == agent.Python {
		return clock.Monotonic
	}
	return clock.Best()
}

// madeRings is what makeRings made, or why it could not.
type madeRings struct {
	shm *ring.Shared
	err error
}

// makeRings makes the program's rings, for agents that read clock k.
func makeRings(o Options, k clock.Kind) madeRings {
	shm, err := ring.Create(ring.Options{Slots: o.Slots, RingBytes: o.RingBytes, Clock: uint32(k)})
	return madeRings{shm, err}
}

// agentFailure turns what the agent wrote in the header into an error.
func (s *session) agentFailure(i *agent.Interpreter) error {
	switch shm := s.main.shm; shm.Status() {
	case wire.StatusToolTaken:
		return environment(fmt.Errorf("%s: pass --tool-id N with a free id from 0 to 5", shm.ErrorMessage()))
	case wire.StatusWrongPython:
		if i.FromFile {
			return errReadWrongVersion
		}
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
