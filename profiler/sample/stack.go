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

// rawFrame is what the walk keeps of one _PyInterpreterFrame.
type rawFrame struct {
	code, instr Addr
	owner       uint8
}

// walkScratch holds buffers reused from one walk to the next.
type walkScratch struct {
	regions  []region
	chunkBuf []byte // copy of the current data stack chunk
	frameBuf []byte // one frame read on its own
	raw      []rawFrame
	codes    []Addr       // distinct code objects of the stack
	codeIdx  map[Addr]int // index into codes
	codeHdrs []byte       // their headers, codeHeaderSize each
	reqs     []readReq
	// nextChunk is the previous chunk of the data stack not yet copied;
	// 0 when all are.
	nextChunk Addr
	// topCode is the code (or executable) of the newest frame.
	topCode Addr
}

// walk reads the Python stack of the thread state at ts, whose header is
// hdr, and returns it root first. It makes few reads: the current data
// stack chunk, where the frames of the thread live, is copied in one read
// (together with the 3.12 _PyCFrame); frames elsewhere (generators, the C
// stack, older chunks) are read as met; every code object header and the
// consistency check share one final read. A stack that changed meanwhile
// is reported as errInconsistent, never returned.
func (p *Process) walk(ts Addr, hdr []byte) ([]Frame, error) {
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
	return p.buildFrames()
}

// loadStack finds the newest frame and copies the current data stack
// chunk. On 3.12 the newest frame is tstate->cframe->current_frame, read in
// the same call as the chunk.
func (p *Process) loadStack(hdr []byte) (top, cframe Addr, err error) {
	s := &p.scratch
	s.regions, s.nextChunk = s.regions[:0], 0
	reqs := s.reqs[:0]
	var cf [8]byte
	if p.lay.cframe {
		if cframe = ptr(hdr, p.lay.tsFrame); cframe == 0 {
			return 0, 0, nil
		}
		reqs = append(reqs, readReq{cframe, cf[:]})
	} else if top = ptr(hdr, p.lay.tsFrame); top == 0 {
		return 0, 0, nil
	}
	chunk, stackTop := ptr(hdr, p.lay.tsChunk), ptr(hdr, p.lay.tsTop)
	if chunk != 0 && stackTop > chunk+chunkData && stackTop-chunk <= maxChunkRead {
		s.chunkBuf = grow(s.chunkBuf, int(stackTop-chunk))
		reqs = append(reqs, readReq{chunk, s.chunkBuf})
		s.regions = append(s.regions, region{chunk, s.chunkBuf})
	}
	s.reqs = reqs
	if err := p.mem.readv(reqs); err != nil {
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

// collectFrames follows previous links from top, keeping the frames that
// are not owned by the C stack: those are the entry frames of
// _PyEval_EvalFrameDefault, not Python code (pycore_frame.h).
func (p *Process) collectFrames(top Addr) error {
	s := &p.scratch
	s.raw = s.raw[:0]
	l := &p.lay
	for f, depth := top, 0; f != 0; depth++ {
		if depth >= MaxDepth {
			return fmt.Errorf("%w: more than %d frames", errInconsistent, MaxDepth)
		}
		fh, err := p.frameHeader(f)
		if err != nil {
			return err
		}
		owner := fh[l.frOwner]
		if depth == 0 {
			s.topCode = ptr(fh, l.frCode)
		}
		if owner > ownedByCStack {
			return fmt.Errorf("%w: frame %#x has owner %d", errInconsistent, f, owner)
		}
		if owner != ownedByCStack {
			s.raw = append(s.raw, rawFrame{code: ptr(fh, l.frCode), instr: ptr(fh, l.frInstr), owner: owner})
		}
		f = ptr(fh, l.frPrevious)
	}
	return nil
}

// frameHeader returns the first frameHeaderSize bytes of the frame at f:
// from a copied chunk, from an older chunk copied now, or read alone.
func (p *Process) frameHeader(f Addr) ([]byte, error) {
	n := p.lay.frameHeaderSize()
	s := &p.scratch
	if b := findIn(s.regions, f, n); b != nil {
		return b, nil
	}
	for s.nextChunk != 0 {
		if err := p.copyChunk(); err != nil {
			return nil, err
		}
		if b := findIn(s.regions[len(s.regions)-1:], f, n); b != nil {
			return b, nil
		}
	}
	s.frameBuf = grow(s.frameBuf, int(n))
	return s.frameBuf, p.mem.read(f, s.frameBuf)
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
		return fmt.Errorf("%w: stack chunk %#x claims %d bytes", errInconsistent, c, used)
	}
	data := make([]byte, used)
	if err := p.mem.read(c, data); err != nil {
		return err
	}
	s.regions = append(s.regions, region{c, data})
	s.nextChunk = ptr(h[:], chunkPrevious)
	return nil
}

// findIn returns n bytes at addr from the first region holding them all.
func findIn(regions []region, addr Addr, n uint64) []byte {
	for _, r := range regions {
		if addr >= r.base && uint64(addr-r.base)+n <= uint64(len(r.data)) {
			off := addr - r.base
			return r.data[off : uint64(off)+n]
		}
	}
	return nil
}

// grow returns b resized to n, reallocating only when it is too small.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, n+n/4)
	}
	return b[:n]
}

// readCodesAndCheck reads the header of every distinct code object of the
// stack and, in the same call and after them, re-reads what says where the
// stack ends: the thread's current frame (through the same _PyCFrame on
// 3.12) and the newest frame's code. If either moved, the thread returned
// or called while we walked, and the frames we hold may mix two stacks.
func (p *Process) readCodesAndCheck(ts, cframe, top Addr) error {
	s := &p.scratch
	p.distinctCodes()
	hsz := int(p.lay.codeHeaderSize())
	s.codeHdrs = grow(s.codeHdrs, hsz*len(s.codes))
	reqs := s.reqs[:0]
	for i, c := range s.codes {
		reqs = append(reqs, readReq{c, s.codeHdrs[i*hsz : (i+1)*hsz]})
	}
	var cur, cf, code [8]byte
	reqs = append(reqs, readReq{ts + Addr(p.lay.tsFrame), cf[:]})
	if p.lay.cframe {
		reqs = append(reqs, readReq{cframe, cur[:]})
	}
	reqs = append(reqs, readReq{top + Addr(p.lay.frCode), code[:]})
	s.reqs = reqs
	if err := p.mem.readv(reqs); err != nil {
		return err
	}
	newTop := ptr(cf[:], 0)
	if p.lay.cframe {
		if ptr(cf[:], 0) != cframe {
			return fmt.Errorf("%w: cframe moved", errInconsistent)
		}
		newTop = ptr(cur[:], 0)
	}
	if newTop != top || ptr(code[:], 0) != s.topCode {
		return fmt.Errorf("%w: newest frame moved", errInconsistent)
	}
	return nil
}

// distinctCodes lists the distinct code objects of the raw frames.
func (p *Process) distinctCodes() {
	s := &p.scratch
	if s.codeIdx == nil {
		s.codeIdx = map[Addr]int{}
	}
	clear(s.codeIdx)
	s.codes = s.codes[:0]
	for _, f := range s.raw {
		if _, ok := s.codeIdx[f.code]; !ok {
			s.codeIdx[f.code] = len(s.codes)
			s.codes = append(s.codes, f.code)
		}
	}
}

// buildFrames decodes the raw frames, newest first, into Frames root
// first, skipping incomplete frames as CPython does: a frame that has not
// run its first traceable instruction yet (pycore_frame.h,
// _PyFrame_IsIncomplete).
func (p *Process) buildFrames() ([]Frame, error) {
	s := &p.scratch
	hsz := int(p.lay.codeHeaderSize())
	frames := make([]Frame, 0, len(s.raw))
	for _, f := range s.raw {
		i := s.codeIdx[f.code]
		ci, err := p.codes.get(f.code, s.codeHdrs[i*hsz:(i+1)*hsz])
		if err != nil {
			return nil, err
		}
		lasti := (int64(f.instr) - int64(f.code+Addr(p.lay.coCode))) >> 1
		if lasti < -1 || lasti >= ci.key.units {
			return nil, fmt.Errorf("%w: instruction %d outside code of %d units", errInconsistent, lasti, ci.key.units)
		}
		if f.owner != ownedByGenerator && lasti < int64(ci.key.firstTraceable) {
			continue
		}
		line := max(ci.lines.Line(int(lasti)), 0)
		frames = append(frames, Frame{Filename: ci.Filename, Qualname: ci.Qualname,
			FirstLine: ci.FirstLine(), Line: line, code: ci})
	}
	slices.Reverse(frames)
	return frames, nil
}
