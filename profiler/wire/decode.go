package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pyprof/pyprof/callgraph"
)

// Sink is what a Decoder feeds: a *callgraph.Builder for the program
// itself, or the *callgraph.Process of a child process, whose ids are its
// own.
type Sink interface {
	NewThread(tid int64) *callgraph.ThreadBuilder
	DefineCode(callgraph.CodeID, *callgraph.Code)
	DefineNative(callgraph.NativeID, string)
}

// Decoder turns the records of one ring, in order, into calls on a
// callgraph.Builder. A ring carries one thread after another (slots are
// recycled); each begins with an XThread record.
type Decoder struct {
	b      Sink
	thread *callgraph.ThreadBuilder
	now    int64
	// Pending fields from XBigId / XBigSite for the next hot record.
	bigID, bigSite         uint32
	haveBigID, haveBigSite bool
	// Events counts hot records decoded.
	Events int64
	// inner holds the resumptions that follow the one being decoded
	// (see peekInner).
	inner [maxInner]callgraph.Resumption
	// outer holds the frames a throw reaches after the one being decoded
	// (see peekOuter).
	outer [maxInner]callgraph.Resumption
	// held are resumptions that ended the last buffer, one after the
	// other, decoded with the next buffer, whose first records may be
	// the resumptions that follow them (see peekInner), or by Flush. The
	// first is held with its delta added to now, the others with theirs
	// still to add.
	held  [maxHeld]uint64
	nHeld int
	// run is what the last peek of the current buffer found (see
	// peekRun).
	run innerRun
}

// innerRun remembers, within one buffer, where the resumptions in
// Decoder.inner came from. In a chain of resumptions (a generator that
// delegates to another resumes it, which resumes the next, and so on: a
// thousand deep in a recursive pretty-printer) the resumptions that
// follow each one are those that followed the one before, less the first:
// sliding the window on reads one record per resumption, where peeking
// anew read up to maxInner, which was a third of the consumer's time on
// such chains.
type innerRun struct {
	// at holds the byte offsets in the buffer of the records of
	// Decoder.inner[:n].
	at [maxInner]int
	n  int
	// next is the offset of the first record not read yet, or -1 once
	// the run has ended (a record that is not a resumption, or the
	// buffer's end).
	next int
}

// NewDecoder returns a decoder feeding b.
func NewDecoder(b Sink) *Decoder { return &Decoder{b: b} }

// Thread returns the thread whose records are being decoded, or nil.
func (d *Decoder) Thread() *callgraph.ThreadBuilder { return d.thread }

// Now returns the tick of the last record decoded.
func (d *Decoder) Now() int64 { return d.now }

// Reset forgets the current thread: the slot is about to be reused.
// Records held back are decoded first: nothing follows them now.
func (d *Decoder) Reset() {
	d.Flush()
	*d = Decoder{b: d.b, Events: d.Events}
}

var errNoThread = errors.New("event before the thread record")

// Flush decodes the resumptions held back at the end of the last buffer
// (see Decode), when no more records will come: the recording ended.
func (d *Decoder) Flush() error { return d.decodeHeld(nil) }

// decodeHeld decodes the resumptions held back, each told of the ones
// after it, and of those that begin next.
func (d *Decoder) decodeHeld(next []byte) error {
	n := d.nHeld
	d.nHeld = 0
	for i := range n {
		w := d.held[i]
		if i > 0 {
			d.now += int64(w & (1<<DeltaBits - 1))
		}
		if isResumption(w) {
			d.peek(w, d.held[i+1:n], next)
		}
		if err := d.hot(w>>KindShift, w); err != nil {
			return fmt.Errorf("record before this buffer: %w", err)
		}
	}
	return nil
}

// Decode consumes buf, which holds whole records. Resumptions that end
// buf are held back until the next call, or Flush, since the records
// after them tell which frames they resume (see peekInner).
func (d *Decoder) Decode(buf []byte) error {
	if err := d.decodeHeld(buf); err != nil {
		return err
	}
	d.run.n = 0
	for off := 0; off+8 <= len(buf); {
		w := binary.LittleEndian.Uint64(buf[off:])
		off += 8
		d.now += int64(w & (1<<DeltaBits - 1))
		kind := w >> KindShift
		if kind == KExt {
			n := int(w >> LenShift & (1<<LenBits - 1))
			padded := (n + 7) &^ 7
			if padded > len(buf)-off {
				return fmt.Errorf("record at byte %d: payload of %d bytes runs past the end", off-8, n)
			}
			if err := d.ext(int(w>>SubShift&0xFF), buf[off:off+n]); err != nil {
				return fmt.Errorf("record at byte %d: %w", off-8, err)
			}
			off += padded
			continue
		}
		// The two commonest records skip the general path.
		if t := d.thread; t != nil && !d.haveBigID && !d.haveBigSite {
			id := uint32(w >> IdShift & (1<<IdBits - 1))
			switch kind {
			case KPyStart:
				site := uint32(w >> SiteShift & (1<<SiteBits - 1))
				if site == SiteNone {
					site = callgraph.SiteNone
				}
				d.Events++
				t.EnterPython(callgraph.CodeID(id), site, true, d.now)
				continue
			case KPyReturn:
				d.Events++
				t.LeavePython(callgraph.CodeID(id), d.now)
				continue
			}
		}
		if isResumption(w) && d.thread != nil {
			if d.holdTail(w, buf[off:]) {
				break
			}
			if w>>KindShift == KPyThrow {
				d.peekOuter(nil, buf[off:])
			}
			d.peekRun(buf, off-8)
		}
		if err := d.hot(kind, w); err != nil {
			return fmt.Errorf("record at byte %d: %w", off-8, err)
		}
	}
	if len(buf)%8 != 0 {
		return fmt.Errorf("%d trailing bytes: records are whole words", len(buf)%8)
	}
	return nil
}

func (d *Decoder) hot(kind, w uint64) error {
	t := d.thread
	if t == nil {
		return errNoThread
	}
	id := uint32(w >> IdShift & (1<<IdBits - 1))
	if d.haveBigID {
		id, d.haveBigID = d.bigID, false
	}
	site := uint32(w >> SiteShift & (1<<SiteBits - 1))
	if d.haveBigSite {
		site, d.haveBigSite = d.bigSite, false
	} else if site == SiteNone {
		site = callgraph.SiteNone
	}
	d.Events++
	switch kind {
	case KPyStart:
		t.EnterPython(callgraph.CodeID(id), site, true, d.now)
	case KPyResume:
		t.ResumePython(callgraph.CodeID(id), frameTag(site), d.now)
	case KPyThrow:
		t.ThrowPython(callgraph.CodeID(id), frameTag(site), d.now)
	case KPyYield:
		t.YieldPython(callgraph.CodeID(id), frameTag(site), d.now)
	case KPyReturn, KPyUnwind:
		t.LeavePython(callgraph.CodeID(id), d.now)
	case KCCall:
		t.EnterNative(callgraph.NativeID(id), site, d.now)
	case KCReturn, KCRaise:
		t.LeaveNative(callgraph.NativeID(id), d.now)
	default:
		return fmt.Errorf("unknown record kind %d", kind)
	}
	return nil
}

// maxInner bounds the resumptions passed on after one (see peekInner),
// and maxHeld the records held back at a buffer's end (see holdTail).
const (
	maxInner = 8
	maxHeld  = 48
)

// holdTail holds back resumption w when it and the records right after it
// in rest end the buffer: the records that tell which frames it resumes
// are still to come. After a PY_RESUME those are resumptions; after a
// PY_THROW, the throws and resumptions of the frames delegating to the
// one thrown into, between the returns and unwinds of the frames they
// delegated to (see peekOuter). It reports whether it did.
func (d *Decoder) holdTail(w uint64, rest []byte) bool {
	if len(rest) >= 8*len(d.held) {
		return false // not the buffer's end: the usual case, at no cost
	}
	throw := w>>KindShift == KPyThrow
	n := 0
	for ; 8*(n+1) <= len(rest); n++ {
		if n+1 >= len(d.held) {
			return false // too long a run to hold; its head tells most apart
		}
		next := binary.LittleEndian.Uint64(rest[8*n:])
		if !isResumption(next) && !(throw && isLeave(next)) {
			return false
		}
	}
	d.held[0] = w
	for i := range n {
		d.held[i+1] = binary.LittleEndian.Uint64(rest[8*i:])
	}
	d.nHeld = n + 1
	return true
}

func isLeave(w uint64) bool {
	k := w >> KindShift
	return k == KPyReturn || k == KPyUnwind
}

// wordAt returns the j-th record of held followed by rest, false past
// their end.
func wordAt(held []uint64, rest []byte, j int) (uint64, bool) {
	if j < len(held) {
		return held[j], true
	}
	if i := j - len(held); 8*(i+1) <= len(rest) {
		return binary.LittleEndian.Uint64(rest[8*i:]), true
	}
	return 0, false
}

func isResumption(w uint64) bool {
	k := w >> KindShift
	return k == KPyResume || k == KPyThrow
}

// peek tells the thread what the records after resumption w, in held and
// then rest, resume or throw into: the frames w's frame delegates to, and
// for a throw those delegating to it.
func (d *Decoder) peek(w uint64, held []uint64, rest []byte) {
	if w>>KindShift == KPyThrow {
		d.peekOuter(held, rest)
	}
	d.peekInner(held, rest)
}

// peekInner passes on the resumptions that follow one, in held and then
// rest: the frames the resumed one awaits or delegates to, which tell
// apart the suspended frames that share its tag (see
// callgraph.ThreadBuilder.ResumesNext). A record whose id needs an
// extension record comes after that one and ends the chain; a tag never
// needs one. Deeper chains than the decoder's array are rare, and their
// head tells most apart.
func (d *Decoder) peekInner(held []uint64, rest []byte) {
	n := 0
	for j := 0; n < len(d.inner); j++ {
		w, ok := eventAt(held, rest, &j)
		if !ok || !isResumption(w) {
			break
		}
		d.inner[n] = resumption(w)
		n++
	}
	if n > 0 {
		d.thread.ResumesNext(d.inner[:n])
	}
}

// peekRun is peekInner for the resumption whose record is at byte p of
// buf, the buffer Decode is decoding, sliding the window of the last peek
// when that found this record first (see innerRun).
func (d *Decoder) peekRun(buf []byte, p int) {
	r := &d.run
	if r.n > 0 && r.at[0] == p {
		copy(d.inner[:], d.inner[1:r.n])
		copy(r.at[:], r.at[1:r.n])
		r.n--
	} else {
		r.n, r.next = 0, p+8
	}
	for r.next >= 0 && r.n < maxInner {
		if r.next+8 > len(buf) {
			r.next = -1
			break
		}
		w := binary.LittleEndian.Uint64(buf[r.next:])
		if w>>KindShift == KExt && w>>SubShift&0xFF == XTime {
			r.next += RecordSize(w) // carries no event (see eventAt)
			continue
		}
		if !isResumption(w) {
			r.next = -1
			break
		}
		d.inner[r.n], r.at[r.n] = resumption(w), r.next
		r.n++
		r.next += 8
	}
	if r.n > 0 {
		d.thread.ResumesNext(d.inner[:r.n])
	}
}

// eventAt returns the record at word *j of held then rest, or past it
// the first that is not an XTime record, leaving *j at that one: an XTime
// record, the clock read anew before an event whose delta did not fit its
// record after a pause of the thread (a tenth of a second on a loaded
// machine), carries no event, and the peeks look past it.
func eventAt(held []uint64, rest []byte, j *int) (uint64, bool) {
	for {
		w, ok := wordAt(held, rest, *j)
		if !ok || w>>KindShift != KExt || w>>SubShift&0xFF != XTime {
			return w, ok
		}
		*j += RecordSize(w) / 8
	}
}

func resumption(w uint64) callgraph.Resumption {
	return callgraph.Resumption{Code: callgraph.CodeID(w >> IdShift & (1<<IdBits - 1)), Tag: frameTag(uint32(w >> SiteShift & (1<<SiteBits - 1)))}
}

// peekOuter passes on, after a throw, the frames the next events throw
// into or resume, the returns and unwinds between them left out, up to
// the first other record: the frames that delegate to the one thrown
// into, which get the exception in their turn, and tell apart the chains
// that hold a frame with its tag (see
// callgraph.ThreadBuilder.ThrowsNext), in held and then rest.
func (d *Decoder) peekOuter(held []uint64, rest []byte) {
	n := 0
	for j := 0; n < len(d.outer); j++ {
		w, ok := eventAt(held, rest, &j)
		if !ok || !isResumption(w) && !isLeave(w) {
			break
		}
		if isResumption(w) {
			d.outer[n] = resumption(w)
			n++
		}
	}
	if n > 0 {
		d.thread.ThrowsNext(d.outer[:n])
	}
}

// frameTag reads the site field of PY_YIELD, PY_RESUME and PY_THROW,
// which holds the frame tag of the generator or coroutine frame (TagNone:
// none), never more than 12 bits.
func frameTag(site uint32) callgraph.FrameTag {
	if site > TagMax {
		return callgraph.TagNone
	}
	return callgraph.FrameTag(site)
}

func (d *Decoder) ext(sub int, p []byte) error {
	r := reader{p: p}
	switch sub {
	case XThread:
		tid, _, ticks := r.u64(), r.u64(), r.u64()
		if r.err != nil {
			return r.err
		}
		d.thread = d.b.NewThread(int64(tid))
		d.now = int64(ticks)
	case XThreadName:
		name := r.str()
		if r.err == nil && d.thread != nil {
			d.thread.Name = name
		}
	case XCode:
		return d.code(&r)
	case XCallable:
		id, name := r.u32(), r.str()
		if r.err == nil && id >= maxID {
			return fmt.Errorf("callable id %d out of range", id)
		}
		if r.err == nil {
			d.b.DefineNative(callgraph.NativeID(id), name)
		}
	case XTime:
		if t := r.u64(); r.err == nil {
			d.now = int64(t)
		}
	case XBigId:
		d.bigID, d.haveBigID = r.u32(), true
	case XBigSite:
		d.bigSite, d.haveBigSite = r.u32(), true
	default:
		return fmt.Errorf("unknown extended record %d", sub)
	}
	return r.err
}

// maxID bounds ids so a corrupt record cannot make the builder
// allocate a table of billions of entries.
const maxID = 1 << 24

func (d *Decoder) code(r *reader) error {
	id, first, flags := r.u32(), r.u32(), r.u32()
	c := &callgraph.Code{FirstLine: int(int32(first)), Hidden: flags&CodeHidden != 0}
	c.Qualname, c.Filename, c.Module = r.str(), r.str(), r.str()
	n := r.u32()
	if r.err == nil && int(n) > len(r.p)/8 {
		return fmt.Errorf("code %d: line table of %d rows does not fit its record", id, n)
	}
	c.Lines = make([]callgraph.LineRange, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		c.Lines = append(c.Lines, callgraph.LineRange{Start: r.u32(), Line: int32(r.u32())})
	}
	if r.err != nil {
		return fmt.Errorf("code %d: %w", id, r.err)
	}
	if id >= maxID {
		return fmt.Errorf("code id %d out of range", id)
	}
	d.b.DefineCode(callgraph.CodeID(id), c)
	return nil
}

// reader reads little-endian fields, remembering the first error.
type reader struct {
	p   []byte
	err error
}

var errShort = errors.New("payload too short")

func (r *reader) take(n int) []byte {
	if r.err != nil || n > len(r.p) || n < 0 {
		r.err = errShort
		return nil
	}
	b := r.p[:n]
	r.p = r.p[n:]
	return b
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str() string {
	n := r.u32()
	if b := r.take(int(n)); b != nil {
		return string(b)
	}
	return ""
}
