package sample

import "fmt"

// readCodesAndCheck reads the header of every distinct code object of the
// stack and, in the same call, reads the chain a second time: the parts of
// the copied chunks that hold its frames, the frames read alone, and the
// thread's current frame (through the same _PyCFrame on 3.12). Any
// difference means the thread returned or called while we read: checking
// the newest frame alone is not enough, since a program that returns and
// calls again to the same depth puts a frame of the same code at the same
// address, while the copy of the chunk, taken meanwhile, may mix frames of
// both moments (TestNoImpossibleStacks found such stacks). Comparing is not
// enough either: both reads can catch the same mix. buildFrames checks
// each caller too (checkCaller).
func (p *Process) readCodesAndCheck(ts, cframe, top Addr) error {
	s := &p.scratch
	p.distinctCodes()
	hsz := int(p.lay.codeHeaderSize())
	s.codeHdrs = grow(s.codeHdrs, hsz*len(s.codes))
	reqs := s.reqs[:0]
	for i, c := range s.codes {
		reqs = append(reqs, readReq{c, s.codeHdrs[i*hsz : (i+1)*hsz]})
	}
	// The thread's current frame (and 3.12 _PyCFrame) before the frames
	// read alone: the entry frame that follows sits next to the
	// _PyCFrame on the C stack, and the two merge into one iovec.
	var cur, cf [8]byte
	reqs = append(reqs, readReq{ts + Addr(p.lay.tsFrame), cf[:]})
	if p.lay.cframe {
		reqs = append(reqs, readReq{cframe, cur[:]})
	}
	reqs = p.chainReqs(reqs)
	s.reqs = reqs
	if err := p.mem.readv(reqs); err != nil {
		return err
	}
	err := p.compareTops(cframe, top, cf[:], cur[:])
	if err == nil {
		err = p.compareChain()
	} else if from, ok := p.topMovedAlongChain(cframe, cf[:], cur[:]); ok {
		if err = p.compareChainFrom(from); err == nil {
			p.scratch.movedTo = from
		}
	}
	if err != nil {
		// Only a chain that moved has outer frames worth keeping; one
		// that read the same twice and fails later (checkCaller) may
		// hold dead frames throughout.
		p.scratch.stable = p.stableFrames()
	}
	return err
}

// compareTops checks that the thread's newest frame (and 3.12 _PyCFrame),
// read again into cf and cur, did not move.
func (p *Process) compareTops(cframe, top Addr, cf, cur []byte) error {
	newTop := ptr(cf, 0)
	if p.lay.cframe {
		if ptr(cf, 0) != cframe {
			return fmt.Errorf("%w: cframe moved", ErrInconsistent)
		}
		newTop = ptr(cur, 0)
	}
	if newTop != top {
		return fmt.Errorf("%w: newest frame moved", ErrInconsistent)
	}
	return nil
}

// topMovedAlongChain tells a thread whose newest frame moved only along
// the chain read: a generator or a function called from C code (sum over
// a generator expression, map, sorted's key) going back and forth between
// its frame and its caller's, as it does millions of times a second,
// moves the newest frame under almost every read. Where the new newest
// frame is one of the frames read, frame k, and the frames above it are
// generators' frames or entry frames (a generator's frame lives in the
// generator, an entry frame on the C stack, each read alone after the
// newest frame was), the stack read was the stack when they had not yet
// returned (or yielded), provided frames k and older did not change at
// all: it returns k, and checkCallersThroughC later asks frame k to be in
// a call (its copy may be of another call). Frames on the thread's data
// stack above k are not taken: a frame there may have been pushed after
// the newest frame was read, and a copy of it be another call's. Nor is a
// frame that returned to its caller, which went on running: that moves the
// caller's instruction, and its callee's frame may already be another
// call's at the same address. A newest frame that moved to a new callee is not taken either:
// telling that callee from a dead frame at the same address took reads
// that let the stack move further (TestNoImpossibleStacks saw mixed
// stacks on 3.12).
func (p *Process) topMovedAlongChain(cframe Addr, cf, cur []byte) (int, bool) {
	raw := p.scratch.raw
	if len(raw) == 0 {
		return 0, false
	}
	newTop, err := p.rereadTop(cframe, cf, cur)
	if err != nil || newTop == 0 {
		return 0, false
	}
	for k := 1; k < len(raw) && raw[k-1].owner != ownedByThread && raw[k-1].owner != ownedByFrameObject; k++ {
		if raw[k].addr == newTop {
			return k, true
		}
	}
	return 0, false
}

// rereadTop returns the thread's newest frame as read a second time, into
// cf (and cur on 3.12, through the _PyCFrame read first): on 3.12 a
// _PyCFrame that moved is read for its current frame.
func (p *Process) rereadTop(cframe Addr, cf, cur []byte) (Addr, error) {
	if !p.lay.cframe {
		return ptr(cf, 0), nil
	}
	if ptr(cf, 0) == cframe {
		return ptr(cur, 0), nil
	}
	var b [8]byte
	if ptr(cf, 0) == 0 {
		return 0, nil
	}
	err := p.mem.read(ptr(cf, 0), b[:])
	return ptr(b[:], 0), err
}

// compareChainFrom is compareChain for a newest frame that moved to frame
// from: frames from and older must not have changed at all.
func (p *Process) compareChainFrom(from int) error {
	for i := from; i < len(p.scratch.raw); i++ {
		if !p.frameUnchanged(i, false) {
			return fmt.Errorf("%w: frame %d of %d changed", ErrInconsistent, i, len(p.scratch.raw))
		}
	}
	return nil
}

// chainReqs appends the reads of the second look at the chain, into
// checkBuf: first every frame read alone (the first of them sits next to
// the 3.12 _PyCFrame read just before), then per copied region the span
// from its lowest to its highest frame. It sets each frame's checkOff.
func (p *Process) chainReqs(reqs []readReq) []readReq {
	s := &p.scratch
	n := int(p.lay.frameHeaderSize())
	s.spans = s.spans[:0]
	for range s.regions {
		s.spans = append(s.spans, span{})
	}
	total := 0
	for _, f := range s.raw {
		if f.region == lone {
			total += n
			continue
		}
		sp := &s.spans[f.region]
		if sp.end == 0 {
			sp.addr, sp.end = f.addr, f.addr
		}
		sp.addr, sp.end = min(sp.addr, f.addr), max(sp.end, f.addr+Addr(n))
	}
	for _, sp := range s.spans {
		total += int(sp.end - sp.addr)
	}
	s.checkBuf = grow(s.checkBuf, total)
	off := 0
	for i := range s.raw {
		if f := &s.raw[i]; f.region == lone {
			f.checkOff = off
			reqs = append(reqs, readReq{f.addr, s.checkBuf[off : off+n]})
			off += n
		}
	}
	s.starts = s.starts[:0]
	for _, sp := range s.spans {
		s.starts = append(s.starts, off)
		if sp.end != 0 {
			reqs = append(reqs, readReq{sp.addr, s.checkBuf[off : off+int(sp.end-sp.addr)]})
			off += int(sp.end - sp.addr)
		}
	}
	for i := range s.raw {
		if f := &s.raw[i]; f.region != lone {
			f.checkOff = s.starts[f.region] + int(f.addr-s.spans[f.region].addr)
		}
	}
	return reqs
}

// compareChain compares the second read of the chain with the first. The
// newest frame's instruction pointer and stack top may move (it is
// running); nothing else of a frame the walk uses may.
func (p *Process) compareChain() error {
	for i := range p.scratch.raw {
		if !p.frameUnchanged(i, i == 0) {
			return fmt.Errorf("%w: frame %d of %d changed", ErrInconsistent, i, len(p.scratch.raw))
		}
	}
	return nil
}

// frameUnchanged reports whether the second read of raw frame i equals the
// first in the fields the walk uses; running lets its instruction and
// stack top move.
func (p *Process) frameUnchanged(i int, running bool) bool {
	l := &p.lay
	f := &p.scratch.raw[i]
	b := p.scratch.checkBuf[f.checkOff : f.checkOff+int(l.frameHeaderSize())]
	if ptr(b, l.frCode)&^Addr(l.execTagBits) != f.code || ptr(b, l.frPrevious) != f.previous || b[l.frOwner] != f.owner {
		return false
	}
	return running || ptr(b, l.frInstr) == f.instr && l.stackTop(b) == f.stackTop
}

// stableFrames counts the oldest frames of the chain whose second read
// equals the first in every field the walk uses, the newest frame's
// instruction and stack top included.
func (p *Process) stableFrames() int {
	k := len(p.scratch.raw)
	for k > 0 && p.frameUnchanged(k-1, false) {
		k--
	}
	return len(p.scratch.raw) - k
}

// checkCaller checks a frame whose newer neighbour in the chain is a Python
// frame, pushed by this frame's own instruction (frames called from C have
// an entry frame of the C stack in between), that has run past its RESUME.
// Such a frame must be suspended in a call: its stack pointer saved
// (stacktop is -1 while a frame runs, pycore_frame.h; 3.14 keeps a stack
// pointer instead, which only debug builds clear, so a release build is
// checked by its call site alone) and its instruction pointer at a call
// site. The caller of a frame still being entered is
// not checked: 3.12 was seen (up to once in a thousand samples of
// churn.py, in all three reads of a sample) with the new frame current
// but its caller still at the start of the call, stack pointer unsaved.
// CPython does not count a frame before its RESUME (buildFrames skips
// it), so the caller is the newest frame, which may be anywhere.
//
// Comparing two reads cannot see this alone: frames are reused at the
// same addresses, so a copy taken while the program returned and called
// again to the same depth can show dead frames (stopped at their return)
// above the running one, and a second read a moment later can show the
// same mix. TestNoImpossibleStacks met a few such stacks per million
// samples of churn.py (one run in six failed); in every one the running
// frame (stacktop -1, not at a call) had dead frames above it.
func checkCaller(l *layout, f rawFrame, ci *Code, lasti int64) error {
	if l.running(f.stackTop) {
		return fmt.Errorf("%w: a running frame has a callee", ErrInconsistent)
	}
	if !ci.calls.has(lasti) {
		return fmt.Errorf("%w: a frame at instruction %d, not a call, has a callee", ErrInconsistent, lasti)
	}
	return nil
}
