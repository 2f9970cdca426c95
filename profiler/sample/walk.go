package sample

import (
	"errors"
	"fmt"
	"time"
)

const (
	// MaxDepth bounds the frames read of one stack. Real programs reach
	// ~20,000 frames (CPython 3.13's own test_json recursion test), and a
	// raised recursion limit allows more: a longer chain keeps its newest
	// MaxDepth frames under a marker that says the outer ones were cut,
	// unless it loops back on itself, which only memory that moved under
	// us can make.
	MaxDepth = 1 << 15
	// maxThreads and maxInterpreters bound the lists walked per sample.
	maxThreads      = 1 << 14
	maxInterpreters = 1 << 10
	// attempts is how often a stack, or a whole sample, is read before it
	// is dropped.
	attempts = 6
	// maxChunkRead bounds the snapshot of one data stack chunk. Chunks are
	// 16 KiB unless a frame needs more (pystate.c, push_chunk).
	maxChunkRead = 4 << 20
)

// retryable reports whether err means the target moved while we read it.
func retryable(err error) bool {
	return errors.Is(err, ErrInconsistent) || errors.Is(err, errShortRead)
}

// Sample reads the Python stacks of every thread. Threads whose stacks keep
// changing while read are returned with Dropped set. Errors:
// ErrProcessExited, *PermissionError, ErrInconsistent (the thread list
// kept changing; try again at the next tick).
func (p *Process) Sample() (*Snapshot, error) {
	var err error
	for range attempts {
		var snap *Snapshot
		snap, err = p.sampleOnce()
		if err == nil {
			return snap, nil
		}
		if !retryable(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("sampling pid %d: %w", p.pid, errors.Join(ErrInconsistent, err))
}

func (p *Process) sampleOnce() (snap *Snapshot, err error) {
	p.mem.beginSample()
	defer func() { p.mem.endSample(err == nil) }()
	return p.readAll()
}

// readAll reads every interpreter's threads.
func (p *Process) readAll() (*Snapshot, error) {
	snap := &Snapshot{Time: time.Now(), GIL: !p.freeThreaded}
	var b [8]byte
	if err := p.mem.read(p.runtime+Addr(p.lay.runtimeInterpHead), b[:]); err != nil {
		return nil, err
	}
	interp := ptr(b[:], 0)
	live := p.scratch.live
	if live == nil {
		live = map[int64]bool{}
		p.scratch.live = live
	}
	clear(live)
	for n := 0; interp != 0; n++ {
		if n >= maxInterpreters {
			return nil, fmt.Errorf("%w: interpreter list too long", ErrInconsistent)
		}
		next, err := p.sampleInterp(interp, snap, live)
		if err != nil {
			return nil, err
		}
		interp = next
	}
	p.tasks.retain(live)
	return snap, nil
}

// sampleInterp appends the threads of one interpreter to snap and returns
// the next interpreter.
func (p *Process) sampleInterp(interp Addr, snap *Snapshot, live map[int64]bool) (Addr, error) {
	s := &p.scratch
	s.interpBuf = grow(s.interpBuf, int(p.lay.interpSize()))
	ih := s.interpBuf
	if err := p.mem.read(interp, ih); err != nil {
		return 0, err
	}
	holder, err := p.gilHolder(ih)
	if err != nil {
		return 0, err
	}
	s.tsBuf = grow(s.tsBuf, int(p.lay.threadStateSize()))
	hdr := s.tsBuf
	ts := ptr(ih, p.lay.interpThreads)
	for n := 0; ts != 0; n++ {
		if n >= maxThreads {
			return 0, fmt.Errorf("%w: thread list too long", ErrInconsistent)
		}
		if err := p.mem.read(ts, hdr); err != nil {
			return 0, err
		}
		if ptr(hdr, p.lay.tsInterp) != interp {
			return 0, fmt.Errorf("%w: thread state %#x left its interpreter", ErrInconsistent, ts)
		}
		st, err := p.threadStack(interp, ts, hdr)
		if err != nil {
			return 0, err
		}
		st.HasGIL = ts == holder
		clocks := p.tasks.ReadClocks(st.TID)
		st.OnCPU, st.CPUTime, st.WaitTime = clocks.OnCPU, clocks.CPU, clocks.Wait
		live[st.TID] = true
		snap.Threads = append(snap.Threads, st)
		ts = ptr(hdr, p.lay.tsNext)
	}
	return ptr(ih, p.lay.interpNext), nil
}

// gilHolder returns the thread state holding the GIL of an interpreter, 0
// if none: last_holder counts only while locked is 1 (pycore_gil.h:
// last_holder is left set when the GIL is dropped).
func (p *Process) gilHolder(ih []byte) (Addr, error) {
	gil := ptr(ih, p.lay.interpGIL)
	if gil == 0 || p.freeThreaded {
		return 0, nil
	}
	s := &p.scratch
	s.gilBuf = grow(s.gilBuf, int(max(p.lay.gilHolder+8, p.lay.gilLocked+4)))
	g := s.gilBuf
	if err := p.mem.read(gil, g); err != nil {
		return 0, err
	}
	if int32(u32(g, p.lay.gilLocked)) != 1 {
		return 0, nil
	}
	return ptr(g, p.lay.gilHolder), nil
}

// threadStack reads the stack of the thread state at ts of interp, whose
// header was just read into hdr, retrying while it changes under us. A
// thread state that cannot be re-read, or that left interp, ends the
// sample with a retryable error: the thread list itself moved.
func (p *Process) threadStack(interp, ts Addr, hdr []byte) (ThreadStack, error) {
	st := ThreadStack{TID: int64(u64(hdr, p.lay.tsNativeID))}
	var best keptWalk // the read whose outer frames stood still the most
	for i := range attempts {
		if i > 0 {
			if err := p.mem.read(ts, hdr); err != nil {
				return st, err
			}
			if ptr(hdr, p.lay.tsInterp) != interp {
				return st, fmt.Errorf("%w: thread state %#x left its interpreter", ErrInconsistent, ts)
			}
		}
		frames, err := p.walk(ts, hdr)
		st.Cut = p.scratch.cut
		if err == nil {
			st.Frames = frames
			return st, nil
		}
		if !retryable(err) {
			return st, err
		}
		// Each read keeps what stood still in it, and the reads differ:
		// one may catch the stack changing near its root, another only
		// above its callers. The one that kept the most is kept (copied:
		// decoding it now would add reads that slow the next attempt).
		if p.scratch.stable > best.stable {
			best.save(&p.scratch)
		}
	}
	if best.stable > p.scratch.stable {
		best.restore(&p.scratch)
	}
	st.Dropped = true
	st.Frames = p.outerFrames()
	return st, nil
}

// keptWalk is a copy of what outerFrames reads of a walk's scratch.
type keptWalk struct {
	raw      []rawFrame
	codes    []Addr
	runners  []runner
	codeHdrs []byte
	stable   int
	movedTo  int
}

func (k *keptWalk) save(s *walkScratch) {
	k.raw = append(k.raw[:0], s.raw...)
	k.codes = append(k.codes[:0], s.codes...)
	k.runners = append(k.runners[:0], s.runners...)
	k.codeHdrs = append(k.codeHdrs[:0], s.codeHdrs...)
	k.stable, k.movedTo = s.stable, s.movedTo
}

func (k *keptWalk) restore(s *walkScratch) {
	s.raw = append(s.raw[:0], k.raw...)
	s.codes = append(s.codes[:0], k.codes...)
	s.runners = append(s.runners[:0], k.runners...)
	s.codeHdrs = append(s.codeHdrs[:0], k.codeHdrs...)
	s.stable, s.movedTo = k.stable, k.movedTo
}
