package ring

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/pyprof/pyprof/profiler/wire"
)

// Slot is one ring: a control page followed by its data, as laid out by
// wire.h. The producer owns the write position, the consumer the read
// position; each publishes its own with a release store.
type Slot struct {
	ctrl []byte
	data []byte
	mask uint64
	// scratch holds records that wrap around the end of data.
	scratch []byte
}

// NewSlot views mem (control page then data of a power-of-two size) as a
// ring. mem must be 8-byte aligned, as mapped memory and Go allocations are.
func NewSlot(mem []byte, ringBytes uint64) *Slot {
	return &Slot{
		ctrl: mem[:wire.SlotData],
		data: mem[wire.SlotData : wire.SlotData+ringBytes],
		mask: ringBytes - 1,
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

// Drain hands every whole record published so far to consume, in order,
// then releases their room to the producer. Records that wrap around the
// end of the ring are passed as one contiguous copy. consume may be called
// twice; the bytes are valid only during the call.
func (s *Slot) Drain(consume func([]byte) error) (int, error) {
	write := atomic.LoadUint64(s.word64(wire.SlotWritePos))
	read := atomic.LoadUint64(s.word64(wire.SlotReadPos))
	if write == read {
		return 0, nil
	}
	start, end := read&s.mask, write&s.mask
	var err error
	if write-read <= uint64(len(s.data))-start {
		err = consume(s.data[start : start+(write-read)])
	} else {
		err = s.drainWrapped(s.data[start:], s.data[:end], consume)
	}
	atomic.StoreUint64(s.word64(wire.SlotReadPos), write)
	return int(write - read), err
}

// drainWrapped consumes a region that wraps: tail, up to the ring's end,
// then head. Whole records are consumed where they lie; only a record that
// straddles the end is copied, so the copy is one record, never the
// region (up to the ring's size, per thread, when pyprof lags).
func (s *Slot) drainWrapped(tail, head []byte, consume func([]byte) error) error {
	n := wire.WholeRecords(tail)
	if err := consume(tail[:n]); err != nil {
		return err
	}
	if rest := tail[n:]; len(rest) > 0 {
		// Records and the ring are 8-byte aligned: the record's first
		// word is in rest whole.
		k := min(wire.RecordSize(binary.LittleEndian.Uint64(rest))-len(rest), len(head))
		s.scratch = append(append(s.scratch[:0], rest...), head[:k]...)
		if err := consume(s.scratch); err != nil {
			return err
		}
		head = head[k:]
	}
	return consume(head)
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
}

// NewProducer takes the slot as a producer would.
func NewProducer(s *Slot) *Producer {
	atomic.AddUint32(s.word32(wire.SlotGeneration), 1)
	atomic.StoreUint32(s.word32(wire.SlotState), wire.SlotOwned)
	return &Producer{s: s, write: atomic.LoadUint64(s.word64(wire.SlotWritePos))}
}

// TryWrite appends the words as one record if there is room, and reports
// whether it did.
func (p *Producer) TryWrite(words ...uint64) bool {
	n := uint64(8 * len(words))
	if p.write+n-atomic.LoadUint64(p.s.word64(wire.SlotReadPos)) > uint64(len(p.s.data)) {
		return false
	}
	for _, w := range words {
		binary.LittleEndian.PutUint64(p.s.data[p.write&p.s.mask:], w)
		p.write += 8
	}
	atomic.StoreUint64(p.s.word64(wire.SlotWritePos), p.write)
	return true
}

// Close marks the thread ended.
func (p *Producer) Close() {
	atomic.StoreUint32(p.s.word32(wire.SlotState), wire.SlotClosed)
}
