package sample

import (
	"fmt"
	"slices"
)

// region is a copy of target memory [base, base+len(data)).
type region struct {
	base Addr
	data []byte
}

// rawFrame is what the walk keeps of one _PyInterpreterFrame, and where it
// read it, to read it again and compare.
type rawFrame struct {
	addr                  Addr
	region                int // index in walkScratch.regions, or lone
	code, previous, instr Addr
	funcobj               Addr  // f_funcobj, 0 when unknown
	globals               Addr  // f_globals, 0 when unknown
	stackTop              int64 // see layout.stackTop
	owner                 uint8
	codeIdx               int // index of code in walkScratch.codes, noCode if none
	checkOff              int // offset of its second read in checkBuf
}

// lone marks a frame read on its own, not from a copied chunk.
const lone = -1

// noCode is the codeIdx of a frame whose code is not read: an entry frame,
// or a frame with a null f_executable.
const noCode = -1

// walkScratch holds buffers reused from one walk to the next.
type walkScratch struct {
	live      map[int64]bool // threads seen in this sample
	interpBuf []byte
	tsBuf     []byte
	gilBuf    []byte

	regions  []region
	chunkBuf []byte     // copy of the current data stack chunk
	frameBuf []byte     // one frame read on its own
	raw      []rawFrame // the chain, newest first, C stack frames included
	codes    []Addr     // distinct code objects of the stack, ascending
	runners  []runner   // for each of codes, what a frame running it says
	codeHdrs []byte     // their headers, codeHeaderSize each
	infos    []*Code    // their decodings
	reqs     []readReq
	spans    []span // per region, the part holding frames of the chain
	starts   []int  // offset of each span in checkBuf
	checkBuf []byte // the chain read a second time
	// nextChunk is the previous chunk of the data stack not yet copied;
	// 0 when all are.
	nextChunk Addr
	// stable counts the oldest frames of raw that the second read found
	// unchanged, set when a walk fails its check (see outerFrames).
	stable int
	// movedTo is the frame of raw the newest frame moved back to while
	// the chain was read (topMovedAlongChain), 0 when it did not move.
	movedTo int
	// cut is set when the chain went on past MaxDepth frames: raw holds
	// the newest MaxDepth of them.
	cut bool
}

// walk reads the Python stack of the thread state at ts, whose header is
// hdr, and returns it root first. It makes few reads: the current data
// stack chunk, where the frames of the thread live, is copied in one read
// (together with the 3.12 _PyCFrame); frames elsewhere (generators, the C
// stack, older chunks) are read as met; every code object header and a
// second read of the whole chain share one final call. A stack that
// changed meanwhile is reported as ErrInconsistent, never returned.
func (p *Process) walk(ts Addr, hdr []byte) ([]Frame, error) {
	p.scratch.stable, p.scratch.movedTo, p.scratch.cut = 0, 0, false
	top, cframe, err := p.loadStack(hdr)
	if err != nil || top == 0 {
		return nil, err
	}
	if err := p.collectFrames(top); err != nil {
		return nil, err
	}
	if err := p.readCodesAndCheck(ts, cframe, top); err != nil {
		return nil, err
	}
	if err := p.checkChainEnd(); err != nil {
		return nil, err
	}
	return p.buildFrames()
}

// loadStack finds the newest frame and copies the current data stack
// chunk. On 3.12 the newest frame is tstate->cframe->current_frame, read in
// the same call as the chunk and after it: the _PyCFrame is a local of
// _PyEval_EvalFrameDefault, next to its entry frame, which the walk reads
// next, so the two merge into one iovec when replayed (memReader).
func (p *Process) loadStack(hdr []byte) (top, cframe Addr, err error) {
	s := &p.scratch
	s.regions, s.nextChunk = s.regions[:0], 0
	if p.lay.cframe {
		if cframe = ptr(hdr, p.lay.tsFrame); cframe == 0 {
			return 0, 0, nil
		}
	} else if top = ptr(hdr, p.lay.tsFrame); top == 0 {
		return 0, 0, nil
	}
	var cf [8]byte
	reqs := s.reqs[:0]
	chunk, stackTop := ptr(hdr, p.lay.tsChunk), ptr(hdr, p.lay.tsTop)
	if chunk != 0 && stackTop > chunk+chunkData && stackTop-chunk <= maxChunkRead {
		used := int(stackTop - chunk)
		s.chunkBuf = grow(s.chunkBuf, chunkReadSize(used))
		reqs = append(reqs, readReq{chunk, s.chunkBuf})
		s.regions = append(s.regions, region{chunk, s.chunkBuf[:used]})
	}
	if p.lay.cframe {
		reqs = append(reqs, readReq{cframe, cf[:]})
	}
	s.reqs = reqs
	err = p.mem.readv(reqs)
	if err != nil && len(s.regions) > 0 && len(s.chunkBuf) > len(s.regions[0].data) {
		// The rounded-up read ran past the chunk: read what is used.
		s.chunkBuf = s.chunkBuf[:len(s.regions[0].data)]
		reqs[0].buf = s.chunkBuf
		err = p.mem.readv(reqs)
	}
	if err != nil {
		return 0, 0, err
	}
	if len(s.regions) > 0 {
		s.nextChunk = ptr(s.chunkBuf, chunkPrevious)
	}
	if p.lay.cframe {
		top = ptr(cf[:], 0)
	}
	return top, cframe, nil
}

// chunkReadSize rounds the used part of a chunk up to whole pages, so that
// the read stays the same (and replays, see memReader) while the stack
// grows and shrinks within a page. Chunks are page-aligned mappings of a
// power-of-two size (pystate.c, allocate_chunk), so the rounded read stays
// inside; loadStack falls back to the exact size if it does not.
func chunkReadSize(used int) int {
	const page = 4096
	return min((used+page-1)&^(page-1), maxChunkRead)
}

// collectFrames follows previous links from top and records the chain.
// Frames owned by the C stack (ownedByCStack and above) are kept for the
// second read but are not Python code: they are the entry frames of
// _PyEval_EvalFrameDefault (pycore_frame.h), one of which ends the chain
// (checkChainEnd).
func (p *Process) collectFrames(top Addr) error {
	s := &p.scratch
	s.raw = s.raw[:0]
	l := &p.lay
	// A chain read while the stack moved can link back to a frame already
	// met, and reading it to MaxDepth costs a read a frame. Brent's check
	// finds such a loop within about twice its start and length, at no
	// cost to a real chain: each frame is compared with one saved frame,
	// saved anew after 1, 2, 4, ... frames.
	var saved Addr
	span, sinceSaved := 1, 0
	for f, depth := top, 0; f != 0; depth++ {
		if f == saved {
			return fmt.Errorf("%w: a chain of frames that loops", ErrInconsistent)
		}
		if sinceSaved++; sinceSaved == span {
			saved, span, sinceSaved = f, 2*span, 0
		}
		if depth >= MaxDepth {
			if loops(s.raw) {
				return fmt.Errorf("%w: a chain of frames that loops", ErrInconsistent)
			}
			s.cut = true
			return nil
		}
		fh, region, err := p.frameHeader(f)
		if err != nil {
			return err
		}
		rf := rawFrame{addr: f, region: region, code: ptr(fh, l.frCode) &^ Addr(l.execTagBits),
			previous: ptr(fh, l.frPrevious), instr: ptr(fh, l.frInstr), stackTop: l.stackTop(fh), owner: fh[l.frOwner]}
		if l.frFuncobj != 0 {
			rf.funcobj = ptr(fh, l.frFuncobj) &^ Addr(l.execTagBits)
		}
		if l.frGlobals != 0 {
			rf.globals = ptr(fh, l.frGlobals)
		}
		if uint64(rf.owner) > l.maxOwner {
			return fmt.Errorf("%w: frame %#x has owner %d", ErrInconsistent, f, rf.owner)
		}
		s.raw = append(s.raw, rf)
		f = rf.previous
	}
	return nil
}

// checkChainEnd checks that the chain read ends where every thread's
// chain ends, at the entry frame of its outermost
// _PyEval_EvalFrameDefault. One that ends at Python code was read while
// that frame was not running: a generator's frame, whose link to its
// caller is cleared when it yields, read between two resumptions (the
// second read can see the same, after the generator ran and yielded again
// meanwhile).
func (p *Process) checkChainEnd() error {
	s := &p.scratch
	if n := len(s.raw); n > 0 && !s.cut && s.raw[n-1].owner < ownedByCStack {
		s.stable = p.stableFrames()
		return fmt.Errorf("%w: a chain of frames that ends at a suspended frame", ErrInconsistent)
	}
	return nil
}

// loops reports whether a frame appears twice in raw: a chain that comes
// back to a frame never ends, and only a read of memory that moved can
// make one. Brent's check in collectFrames finds most loops early; this
// one, at MaxDepth, finds the rest.
func loops(raw []rawFrame) bool {
	addrs := make([]Addr, len(raw))
	for i, f := range raw {
		addrs[i] = f.addr
	}
	slices.Sort(addrs)
	for i := 1; i < len(addrs); i++ {
		if addrs[i] == addrs[i-1] {
			return true
		}
	}
	return false
}

// frameHeader returns the first frameHeaderSize bytes of the frame at f
// and the region they came from: a copied chunk, an older chunk copied
// now, or lone: read alone.
func (p *Process) frameHeader(f Addr) ([]byte, int, error) {
	n := p.lay.frameHeaderSize()
	s := &p.scratch
	if b, i := findIn(s.regions, f, n); b != nil {
		return b, i, nil
	}
	for s.nextChunk != 0 {
		if err := p.copyChunk(); err != nil {
			return nil, 0, err
		}
		if b, i := findIn(s.regions, f, n); b != nil {
			return b, i, nil
		}
	}
	s.frameBuf = grow(s.frameBuf, int(n))
	return s.frameBuf, lone, p.mem.read(f, s.frameBuf)
}

// copyChunk copies the used part of the next older chunk: its top field
// counts the words in use once a newer chunk was pushed (pystate.c,
// push_chunk).
func (p *Process) copyChunk() error {
	s := &p.scratch
	c := s.nextChunk
	var h [chunkData]byte
	if err := p.mem.read(c, h[:]); err != nil {
		return err
	}
	used := chunkData + 8*u64(h[:], chunkTop)
	if used > u64(h[:], chunkSize) || used > maxChunkRead {
		return fmt.Errorf("%w: stack chunk %#x claims %d bytes", ErrInconsistent, c, used)
	}
	data := make([]byte, used)
	if err := p.mem.read(c, data); err != nil {
		return err
	}
	s.regions = append(s.regions, region{c, data})
	s.nextChunk = ptr(h[:], chunkPrevious)
	return nil
}

// findIn returns n bytes at addr from the first region holding them all,
// and the region's index.
func findIn(regions []region, addr Addr, n uint64) ([]byte, int) {
	for i, r := range regions {
		if addr >= r.base && uint64(addr-r.base)+n <= uint64(len(r.data)) {
			off := addr - r.base
			return r.data[off : uint64(off)+n], i
		}
	}
	return nil, lone
}

// grow returns b resized to n, reallocating only when it is too small.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, n+n/4)
	}
	return b[:n]
}

// distinctCodes lists the distinct code objects of the raw frames in
// address order, so that code objects allocated together (a module's,
// unmarshalled in one go) are read together (memReader.merge).
//
// A Python frame with a null f_executable is left out: 3.14 clears it as a
// frame returns (PyStackRef_CLEAR in _PyFrame_ClearExceptCode), so a copy
// of the stack taken after the thread state was read can show the frames
// that returned meanwhile that way. Reading address 0 would fail the whole
// second read of the chain, which must go on to find the outer frames that
// stood still (outerFrames); framesOf rejects such a stack.
func (p *Process) distinctCodes() {
	s := &p.scratch
	s.codes = s.codes[:0]
	for _, f := range s.raw {
		if hasCode(f) {
			s.codes = append(s.codes, f.code)
		}
	}
	slices.Sort(s.codes)
	s.codes = slices.Compact(s.codes)
	s.runners = append(s.runners[:0], make([]runner, len(s.codes))...)
	for i := range s.raw {
		s.raw[i].codeIdx = noCode
		if hasCode(s.raw[i]) {
			s.raw[i].codeIdx, _ = slices.BinarySearch(s.codes, s.raw[i].code)
			if r := &s.runners[s.raw[i].codeIdx]; *r == (runner{}) {
				*r = runner{funcobj: s.raw[i].funcobj, globals: s.raw[i].globals}
			}
		}
	}
}

// hasCode reports whether raw frame f is Python code with a code object.
func hasCode(f rawFrame) bool {
	return f.owner < ownedByCStack && f.code != 0
}

// codeOf returns the decoding of raw frame f's code, nil when it has none
// or it did not decode (decodeCodes).
func (p *Process) codeOf(f rawFrame) *Code {
	if f.codeIdx == noCode {
		return nil
	}
	return p.scratch.infos[f.codeIdx]
}

// buildFrames decodes the raw frames, newest first, into Frames root
// first, skipping incomplete frames as CPython does: a frame that has not
// run its first traceable instruction yet (pycore_frame.h,
// _PyFrame_IsIncomplete).
func (p *Process) buildFrames() ([]Frame, error) {
	if err := p.decodeCodes(); err != nil {
		return nil, err
	}
	if err := p.checkCallersThroughC(); err != nil {
		p.scratch.stable = p.stableFrames()
		return nil, err
	}
	return p.framesOf(p.scratch.raw)
}

// checkCallersThroughC checks the frames of the thread's data stack
// that native code lies above, where what was read above that native code
// are frames read on their own (a generator's) or the newest frame moved
// back to that frame while the chain was read: such a frame must be in a
// call. A frame is reused at its address by the next call to the same
// depth, and its copy, taken at another moment than the frames above it,
// may be of another call: a loop calling resume(), which resumes a
// generator through next(), showed resume at its return, and at its loop's
// head, calling the generator, in both reads of the chain. Frames whose
// newer neighbour is a Python frame are checked by checkCaller.
func (p *Process) checkCallersThroughC() error {
	s := &p.scratch
	for i := range s.raw {
		if p.refusedCallerThroughC(i) {
			return fmt.Errorf("%w: frame %d of %d, not in a call, has native code calling a generator above it", ErrInconsistent, i, len(s.raw))
		}
	}
	return nil
}

// callerThroughC reports whether raw frame i is one checkCallersThroughC
// checks: a Python frame under an entry frame of the C stack, above which
// lies a frame read on its own or nothing left (the newest frame moved
// back to frame i).
func (p *Process) callerThroughC(i int) bool {
	s := &p.scratch
	if i == 0 || !hasCode(s.raw[i]) || s.raw[i-1].owner < ownedByCStack {
		return false
	}
	if i == s.movedTo {
		return true
	}
	return i >= 2 && (s.raw[i-2].owner == ownedByGenerator || s.raw[i-2].owner == ownedByFrameObject)
}

// refusedCallerThroughC reports whether raw frame i is one
// checkCallersThroughC checks that does not rest where a frame calling
// native code rests: at the start of an instruction that calls, or where a
// Python callee is pushed from.
func (p *Process) refusedCallerThroughC(i int) bool {
	if !p.callerThroughC(i) {
		return false
	}
	ci := p.codeOf(p.scratch.raw[i])
	return ci == nil || !ci.calls.callsThroughC(p.lasti(p.scratch.raw[i]))
}

// decodeCodes decodes the code objects of the stack from their headers,
// read by readCodesAndCheck, into scratch.infos. One that does not decode
// is nil there, and its error is returned after the others are decoded.
func (p *Process) decodeCodes() error {
	s := &p.scratch
	hsz := int(p.lay.codeHeaderSize())
	s.infos = s.infos[:0]
	var first error
	for i, c := range s.codes {
		ci, err := p.codes.get(c, s.codeHdrs[i*hsz:(i+1)*hsz], s.runners[i])
		if err != nil && first == nil {
			first = err
		}
		s.infos = append(s.infos, ci)
	}
	return first
}

// outerFrames returns, root first, the frames of the last walk that were
// the same in both of its reads, when the walk failed its check because
// newer frames changed (scratch.stable; nil otherwise). The program was
// inside each of them at both moments: a caller resuming would have
// changed (its instruction pointer moves on; before 3.14 its stack top is
// also reset to -1, pycore_frame.h), so
// a sample can still be charged to them while the frames it was really in
// are unknown. The newest frame read is never among them: frames above it
// may have come and gone unseen.
//
// Nor is a newest kept frame that is not at a call site: frames above it
// changed, so it called them, unless it is a dead frame (returned, its
// memory not yet reused) that both reads saw because a periodic program
// put the same bytes there each time. TestNoImpossibleStacks met
// "rec at its recursive call, then leaf_b", a dead leaf_b above a live
// rec, once in about 2,000 dropped stacks of churn.py on a loaded machine;
// frames below the newest are checked against their callee (checkCaller).
func (p *Process) outerFrames() []Frame {
	s := &p.scratch
	stable := min(s.stable, len(s.raw)-1)
	if stable <= 0 {
		return nil
	}
	// Codes of the frames that changed may not decode: they are not used.
	_ = p.decodeCodes()
	kept := p.keptOuter(len(s.raw) - stable)
	if len(kept) == 0 {
		return nil
	}
	frames, err := p.framesOf(kept)
	if err != nil {
		return nil
	}
	return frames
}

// keptOuter returns the raw frames outerFrames keeps of raw[from:], the
// frames read the same twice: none above a frame that checkCallersThroughC
// would refuse, and none above the newest that may have a callee.
func (p *Process) keptOuter(from int) []rawFrame {
	s := &p.scratch
	for i := from; i < len(s.raw); i++ {
		if p.refusedCallerThroughC(i) {
			from = i // the frames above it may be another call's
		}
	}
	kept := s.raw[from:]
	for len(kept) > 0 && !p.mayHaveCallee(kept[0]) {
		kept = kept[1:]
	}
	return kept
}

// mayHaveCallee reports whether raw frame f can be calling a newer frame:
// a Python frame stopped at an instruction that pushes frames, or an entry
// frame of the C stack (native code called back into Python; the Python
// frame beneath it called native code, from whatever instruction).
func (p *Process) mayHaveCallee(f rawFrame) bool {
	if f.owner >= ownedByCStack {
		return true
	}
	ci := p.codeOf(f)
	return ci != nil && ci.calls.has(p.lasti(f))
}

// lasti returns the index, in code units, of the instruction raw frame f
// last ran: its instruction pointer relative to its code's bytecode.
func (p *Process) lasti(f rawFrame) int64 {
	return (int64(f.instr) - int64(f.code+Addr(p.lay.coCode))) >> 1
}

// framesOf decodes raw frames, newest first, into Frames root first; see
// buildFrames. scratch.infos must hold the decoded codes (decodeCodes).
func (p *Process) framesOf(raw []rawFrame) ([]Frame, error) {
	// Raw frames are newest first; frames are written root first.
	frames := make([]Frame, len(raw))
	n := len(frames)
	calleeStarted := false // the newer frame is Python code past its RESUME
	for i, f := range raw {
		if f.owner >= ownedByCStack {
			calleeStarted = false
			continue
		}
		if f.code == 0 {
			return nil, fmt.Errorf("%w: frame %d of %d has no code: it returned", ErrInconsistent, i, len(raw))
		}
		ci := p.codeOf(f)
		if ci == nil {
			return nil, fmt.Errorf("%w: frame %d of %d: its code did not decode", ErrInconsistent, i, len(raw))
		}
		lasti := p.lasti(f)
		if lasti < -1 || lasti >= ci.key.units {
			return nil, fmt.Errorf("%w: instruction %d outside code of %d units", ErrInconsistent, lasti, ci.key.units)
		}
		inCall := calleeStarted
		calleeStarted = lasti > int64(ci.key.firstTraceable)
		if f.owner != ownedByGenerator && lasti < int64(ci.key.firstTraceable) {
			continue
		}
		if inCall {
			if err := checkCaller(&p.lay, f, ci, lasti); err != nil {
				return nil, fmt.Errorf("frame %d of %d: %w", i, len(raw), err)
			}
		}
		n--
		frames[n] = Frame{Code: ci, Line: max(ci.lines.Line(int(lasti)), 0)}
	}
	frames = frames[n:]
	return frames, nil
}
