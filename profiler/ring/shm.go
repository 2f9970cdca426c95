package ring

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/profiler/wire"
)

// Options sizes the shared memory.
type Options struct {
	// Slots is how many threads can record at once; slots of ended
	// threads are recycled.
	Slots int
	// RingBytes is each ring's data size, a power of two. NOTES.md: 8 MiB
	// was the smallest ring a 1 ms consumer never let fill on a loaded
	// 2-core machine.
	RingBytes uint64
	// Clock is wire.ClockTsc or wire.ClockMonotonic.
	Clock uint32
}

// Shared is the memfd the rings live in. A memfd has no name to leave
// behind, no /dev/shm size limit to hit with SIGBUS, and vanishes with the
// last mapping (NOTES.md, where the rings live); pages are only allocated
// when a producer touches them.
type Shared struct {
	file   *os.File
	mem    []byte
	slots  []*Slot
	stride uint64
	clock  uint32
}

// Create makes the shared memory, writes its header and maps it.
func Create(o Options) (*Shared, error) {
	if o.RingBytes < 4096 || o.RingBytes&(o.RingBytes-1) != 0 {
		return nil, fmt.Errorf("ring size %d is not a power of two of at least 4096 bytes", o.RingBytes)
	}
	fd, err := unix.MemfdCreate("pyprof-rings", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating shared memory: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pyprof-rings")
	stride := wire.SlotData + o.RingBytes
	size := wire.HdrSize + uint64(o.Slots)*stride
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("sizing shared memory to %d bytes: %w", size, err)
	}
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mapping shared memory: %w", err)
	}
	s := &Shared{file: f, mem: mem, stride: stride, clock: o.Clock}
	s.writeHeader(o)
	s.makeSlots(o.Slots, o.RingBytes)
	return s, nil
}

func (s *Shared) makeSlots(n int, ringBytes uint64) {
	for i := 0; i < n; i++ {
		off := wire.HdrSize + uint64(i)*s.stride
		s.slots = append(s.slots, NewSlot(s.mem[off:off+s.stride], ringBytes))
	}
}

// maxSlots bounds the slots a header may declare, so that a damaged one
// cannot make pyprof map terabytes.
const maxSlots = 1 << 16

// Open maps shared memory that an agent made itself: a followed child
// process creates its own memfd (wire.h, child processes) and hands it to
// pyprof, which takes f over. The header must be one this pyprof would
// have written (CheckHeader), and the memfd sealed against shrinking, so
// that the child cannot make pyprof's reads fault.
func Open(f *os.File) (*Shared, error) {
	fd := int(f.Fd())
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		return nil, fmt.Errorf("shared memory of a child: not a memfd sealed against shrinking")
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("shared memory of a child: %w", err)
	}
	if st.Size < wire.HdrSize {
		return nil, fmt.Errorf("shared memory of a child: %d bytes, smaller than its header", st.Size)
	}
	head, err := unix.Mmap(fd, 0, wire.HdrSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the header of a child's shared memory: %w", err)
	}
	o, stride, err := CheckHeader(head)
	_ = unix.Munmap(head)
	if err != nil {
		return nil, fmt.Errorf("shared memory of a child: %w", err)
	}
	size := wire.HdrSize + uint64(o.Slots)*stride
	if uint64(st.Size) < size {
		return nil, fmt.Errorf("shared memory of a child: %d bytes, its header says %d", st.Size, size)
	}
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping a child's shared memory: %w", err)
	}
	s := &Shared{file: f, mem: mem, stride: stride, clock: o.Clock}
	s.makeSlots(o.Slots, o.RingBytes)
	return s, nil
}

// CheckHeader reads the geometry of a header and checks it is one pyprof
// writes: its magic and version, a power-of-two ring of at least a page,
// slots laid out as wire.h says, a known clock, and this process as the
// consumer. The agent writes the headers of the rings a child makes; this
// is the check that both sides agree.
func CheckHeader(h []byte) (o Options, stride uint64, err error) {
	le := binary.LittleEndian
	if len(h) < wire.HdrSize || le.Uint64(h[wire.HdrMagic:]) != wire.WireMagic {
		return o, 0, fmt.Errorf("no pyprof header")
	}
	if v := le.Uint32(h[wire.HdrVersion:]); v != wire.WireVersion {
		return o, 0, fmt.Errorf("wire format version %d, want %d", v, wire.WireVersion)
	}
	o = Options{Slots: int(le.Uint32(h[wire.HdrNslots:])), RingBytes: le.Uint64(h[wire.HdrRingBytes:]), Clock: le.Uint32(h[wire.HdrClock:])}
	stride = le.Uint64(h[wire.HdrSlotStride:])
	switch {
	case o.Slots < 1 || o.Slots > maxSlots:
		return o, 0, fmt.Errorf("%d slots", o.Slots)
	case o.RingBytes < 4096 || o.RingBytes > 1<<30 || o.RingBytes&(o.RingBytes-1) != 0:
		return o, 0, fmt.Errorf("ring size %d is not a power of two from 4096 bytes to 1GiB", o.RingBytes)
	case stride != wire.SlotData+o.RingBytes:
		return o, 0, fmt.Errorf("slot stride %d, want %d", stride, wire.SlotData+o.RingBytes)
	case o.Clock != wire.ClockTsc && o.Clock != wire.ClockMonotonic:
		return o, 0, fmt.Errorf("unknown clock %d", o.Clock)
	}
	if pid := le.Uint64(h[wire.HdrConsumerPid:]); pid != uint64(os.Getpid()) {
		return o, 0, fmt.Errorf("consumer pid %d is not this pyprof's (%d)", pid, os.Getpid())
	}
	return o, stride, nil
}

func (s *Shared) writeHeader(o Options) {
	le := binary.LittleEndian
	le.PutUint32(s.mem[wire.HdrVersion:], wire.WireVersion)
	le.PutUint32(s.mem[wire.HdrNslots:], uint32(o.Slots))
	le.PutUint64(s.mem[wire.HdrRingBytes:], o.RingBytes)
	le.PutUint64(s.mem[wire.HdrSlotStride:], s.stride)
	le.PutUint32(s.mem[wire.HdrClock:], o.Clock)
	le.PutUint64(s.mem[wire.HdrConsumerPid:], uint64(os.Getpid()))
	le.PutUint64(s.mem[wire.HdrMagic:], wire.WireMagic)
}

// File is the descriptor the target inherits.
func (s *Shared) File() *os.File { return s.file }

// Clock returns the header's clock, wire.ClockTsc or wire.ClockMonotonic.
func (s *Shared) Clock() uint32 { return s.clock }

// Slots returns the rings.
func (s *Shared) Slots() []*Slot { return s.slots }

func (s *Shared) hdr64(off int) uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&s.mem[off])))
}

// Status returns the agent's wire.Status* value.
func (s *Shared) Status() uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&s.mem[wire.HdrStatus])))
}

// ErrorMessage returns what the agent wrote when it could not start.
func (s *Shared) ErrorMessage() string {
	msg := s.mem[wire.HdrError : wire.HdrError+wire.HdrErrorLen]
	if i := bytes.IndexByte(msg, 0); i >= 0 {
		msg = msg[:i]
	}
	return string(msg)
}

// Beat records that the consumer is alive and draining, at CLOCK_MONOTONIC
// time now: a heartbeat any reader of the header (a debugger, a test) can
// check.
func (s *Shared) Beat(now int64) {
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&s.mem[wire.HdrHeartbeat])), uint64(now))
}

// Lost returns events the agent dropped: for want of a free slot, and
// after the consumer died.
func (s *Shared) Lost() (noSlot, noConsumer uint64) {
	return s.hdr64(wire.HdrLostNoSlot), s.hdr64(wire.HdrLostNoConsumer)
}

// Release gives the memory of a freed slot back to the system, so that a
// program starting and ending many threads keeps a flat footprint.
func (s *Shared) Release(i int) {
	off := int64(wire.HdrSize) + int64(i)*int64(s.stride) + wire.SlotData
	// Best effort: a failure only costs memory.
	_ = unix.Fallocate(int(s.file.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, int64(s.stride)-wire.SlotData)
}

// Close unmaps the memory and closes the descriptor.
func (s *Shared) Close() error {
	err := unix.Munmap(s.mem)
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	return err
}
