package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/pyprof/pyprof/profiler/wire"
)

// Slot is one ring: its control block and its data, as laid out by wire.h.
// The producer owns the write position, the consumer the read position;
// each publishes its own with a release store.
type Slot struct {
	ctrl      []byte
	data      ringData
	ringBytes uint64
	mask      uint64
	// buf receives what a drain reads, a chunk at a time; the slots of
	// one Shared, drained one after the other, share it.
	buf *[]byte
	// highWater is how far into the ring its producers wrote since the
	// slot was last released: the part of the memfd that holds pages.
	highWater uint64
	// used is the header's count of slots ever taken, which a producer
	// raises, and index this slot's place; used is nil for a ring in
	// memory.
	used  *uint32
	index int
}

// ringData holds a ring's bytes: a part of the memfd, which pyprof reads
// with pread and never maps (so that its address space does not grow
// with the program's threads, nor its page tables need flushing when a
// ring is given back), or memory, for tests. Tests' producers write
// through it too.
type ringData interface {
	io.ReaderAt
	io.WriterAt
}

// memoryRing is a ring in memory.
type memoryRing []byte

func (m memoryRing) ReadAt(p []byte, off int64) (int, error)  { return copy(p, m[off:]), nil }
func (m memoryRing) WriteAt(p []byte, off int64) (int, error) { return copy(m[off:], p), nil }

// NewSlot views ctrl (a control block, 8-byte aligned, as mapped memory
// and Go allocations are) and data (a whole ring of a power-of-two size)
// as a ring.
func NewSlot(ctrl, data []byte) *Slot {
	return &Slot{
		ctrl:      ctrl[:wire.SlotCtrlSize],
		data:      memoryRing(data),
		ringBytes: uint64(len(data)),
		mask:      uint64(len(data)) - 1,
		buf:       new([]byte),
	}
}

func (s *Slot) word64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&s.ctrl[off])) }
func (s *Slot) word32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&s.ctrl[off])) }

// State returns wire.SlotFree, SlotOwned or SlotClosed.
func (s *Slot) State() uint32 { return atomic.LoadUint32(s.word32(wire.SlotState)) }

// Generation counts how many threads have taken the slot.
func (s *Slot) Generation() uint32 { return atomic.LoadUint32(s.word32(wire.SlotGeneration)) }

// WaitNanos is how long producers of this slot waited for room.
func (s *Slot) WaitNanos() uint64 { return atomic.LoadUint64(s.word64(wire.SlotWaitNs)) }

// Pending returns the number of bytes written and not yet consumed.
func (s *Slot) Pending() uint64 {
	return atomic.LoadUint64(s.word64(wire.SlotWritePos)) - atomic.LoadUint64(s.word64(wire.SlotReadPos))
}

// drainChunk is how much of a ring one read takes: what pyprof holds of a
// ring at once, however far behind it is.
const drainChunk = 1 << 20

// bufStep rounds the size of a drain's buffer up, so that records cut at a
// chunk's end do not make it grow again and again.
const bufStep = 64 << 10

var (
	// errPositions is a ring whose positions no producer of pyprof's
	// writes: memory a child process damaged.
	errPositions = errors.New("write position behind the read position or a ring ahead of it")
	// errCut is a ring whose last record runs past the write position.
	errCut = errors.New("the last record runs past the write position")
)

// Drain hands every whole record published so far to consume, in order,
// then releases their room to the producer. The records are read a chunk
// at a time; a record cut by the end of a chunk, or of the ring, is passed
// whole with the next. consume may be called several times; the bytes are
// valid only during the call. After an error from consume, or when the
// ring cannot be read, the rest is skipped, so that the producer goes on.
func (s *Slot) Drain(consume func([]byte) error) (int, error) {
	write := atomic.LoadUint64(s.word64(wire.SlotWritePos))
	read := atomic.LoadUint64(s.word64(wire.SlotReadPos))
	if write == read {
		return 0, nil
	}
	if write < read || write-read > s.ringBytes {
		return 0, errPositions
	}
	s.highWater = max(s.highWater, min(write, s.ringBytes))
	err := s.drainRange(read, write, consume)
	atomic.StoreUint64(s.word64(wire.SlotReadPos), write)
	return int(write - read), err
}

// drainRange consumes the records from position read to write.
func (s *Slot) drainRange(read, write uint64, consume func([]byte) error) error {
	carry := 0 // bytes of a cut record at the start of the buffer
	for pos := read; pos < write; {
		n := int(min(write-pos, drainChunk))
		if cap(*s.buf) < carry+n {
			grown := make([]byte, (carry+n+bufStep-1)/bufStep*bufStep)
			copy(grown, (*s.buf)[:carry])
			*s.buf = grown
		}
		buf := (*s.buf)[:carry+n]
		if err := s.readRing(buf[carry:], pos); err != nil {
			return err
		}
		pos += uint64(n)
		// The producer publishes whole records: only a chunk that ends
		// before the write position may end inside one.
		whole := len(buf)
		if pos < write {
			whole = wire.WholeRecords(buf)
		}
		if err := consume(buf[:whole]); err != nil {
			return err
		}
		carry = copy(buf, buf[whole:])
		// The records are copied out: the producer may have their room.
		atomic.StoreUint64(s.word64(wire.SlotReadPos), pos)
	}
	if carry != 0 {
		return errCut
	}
	return nil
}

// readRing fills p with the ring's bytes from position pos on, wrapping
// around its end.
func (s *Slot) readRing(p []byte, pos uint64) error {
	start := pos & s.mask
	first := int(min(uint64(len(p)), s.ringBytes-start))
	if _, err := s.data.ReadAt(p[:first], int64(start)); err != nil {
		return fmt.Errorf("reading a ring: %w", err)
	}
	if first < len(p) {
		if _, err := s.data.ReadAt(p[first:], 0); err != nil {
			return fmt.Errorf("reading a ring: %w", err)
		}
	}
	return nil
}

// Free makes a drained CLOSED slot available to the next thread: positions
// are reset before the state is published, so a producer that sees FREE
// starts from zero.
func (s *Slot) Free() {
	atomic.StoreUint64(s.word64(wire.SlotWritePos), 0)
	atomic.StoreUint64(s.word64(wire.SlotReadPos), 0)
	atomic.StoreUint64(s.word64(wire.SlotWaitNs), 0)
	atomic.StoreUint32(s.word32(wire.SlotState), wire.SlotFree)
}

// Producer writes records into a Slot the way the agent does. It exists
// for tests and benchmarks of the consumer.
type Producer struct {
	s     *Slot
	write uint64
	rec   []byte
}

// NewProducer takes the slot as a producer would, raising the count of
// slots used.
func NewProducer(s *Slot) *Producer {
	atomic.AddUint32(s.word32(wire.SlotGeneration), 1)
	atomic.StoreUint32(s.word32(wire.SlotState), wire.SlotOwned)
	if s.used != nil && atomic.LoadUint32(s.used) <= uint32(s.index) {
		atomic.StoreUint32(s.used, uint32(s.index)+1)
	}
	return &Producer{s: s, write: atomic.LoadUint64(s.word64(wire.SlotWritePos))}
}

// TryWrite appends the words as one record if there is room, and reports
// whether it did.
func (p *Producer) TryWrite(words ...uint64) bool {
	n := uint64(8 * len(words))
	if p.write+n-atomic.LoadUint64(p.s.word64(wire.SlotReadPos)) > p.s.ringBytes {
		return false
	}
	p.rec = p.rec[:0]
	for _, w := range words {
		p.rec = binary.LittleEndian.AppendUint64(p.rec, w)
	}
	start := p.write & p.s.mask
	first := min(uint64(len(p.rec)), p.s.ringBytes-start)
	if _, err := p.s.data.WriteAt(p.rec[:first], int64(start)); err != nil {
		return false
	}
	if _, err := p.s.data.WriteAt(p.rec[first:], 0); err != nil {
		return false
	}
	p.write += n
	atomic.StoreUint64(p.s.word64(wire.SlotWritePos), p.write)
	return true
}

// Close marks the thread ended.
func (p *Producer) Close() {
	atomic.StoreUint32(p.s.word32(wire.SlotState), wire.SlotClosed)
}
