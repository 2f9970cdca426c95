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
	// threads are recycled. A slot that no thread takes costs its
	// control block alone (wire.SlotCtrlSize bytes).
	Slots int
	// RingBytes is each ring's data size, a power of two. 8 MiB was the
	// smallest ring a 1 ms consumer never let fill on a loaded 2-core
	// machine; a thread maps only what it writes of it.
	RingBytes uint64
	// Clock is wire.ClockTsc or wire.ClockMonotonic.
	Clock uint32
}

// Shared is the memfd the rings live in. A memfd has no name to leave
// behind, no /dev/shm size limit to hit with SIGBUS, and vanishes with the
// last mapping; pages are only allocated when a producer touches them. It
// is sized for every slot's ring, which costs nothing until written. pyprof
// maps the header and the control blocks alone, and reads the rings with
// pread: its address space does not follow the program's threads (8 MiB
// rings for a thousand threads would not fit under a ulimit -v the program
// runs within), and the agent maps of each ring only what its thread
// writes.
type Shared struct {
	file  *os.File
	mem   []byte // the header and the control blocks
	slots []*Slot
	clock uint32
}

// Create makes the shared memory, writes its header and maps it.
func Create(o Options) (*Shared, error) {
	if o.RingBytes < 4096 || o.RingBytes&(o.RingBytes-1) != 0 {
		return nil, fmt.Errorf("ring size %d is not a power of two of at least 4096 bytes", o.RingBytes)
	}
	if o.Slots < 1 || o.Slots > maxSlots {
		return nil, fmt.Errorf("%d slots: from 1 to %d", o.Slots, maxSlots)
	}
	fd, err := unix.MemfdCreate("pyprof-rings", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating shared memory: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pyprof-rings")
	size := wire.DataStart(o.Slots) + uint64(o.Slots)*o.RingBytes
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("sizing shared memory to %d bytes: %w", size, err)
	}
	s, err := mapShared(f, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	s.writeHeader(o)
	return s, nil
}

// mapShared maps the header and control blocks of f, laid out for o.
func mapShared(f *os.File, o Options) (*Shared, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, int(wire.DataStart(o.Slots)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping shared memory: %w", err)
	}
	s := &Shared{file: f, mem: mem, clock: o.Clock}
	used := (*uint32)(unsafe.Pointer(&mem[wire.HdrSlotsUsed]))
	start := wire.DataStart(o.Slots)
	buf := new([]byte)
	// One allocation for all the slots, not one each: there are thousands,
	// and this runs before the program starts.
	backing := make([]Slot, o.Slots)
	rings := make([]fileRing, o.Slots)
	s.slots = make([]*Slot, o.Slots)
	for i := range backing {
		ctrl := wire.HdrSize + i*wire.SlotCtrlSize
		rings[i] = fileRing{f, int64(start + uint64(i)*o.RingBytes)}
		backing[i] = Slot{
			ctrl:      mem[ctrl : ctrl+wire.SlotCtrlSize],
			data:      &rings[i],
			ringBytes: o.RingBytes, mask: o.RingBytes - 1, buf: buf, used: used, index: i,
		}
		s.slots[i] = &backing[i]
	}
	return s, nil
}

// maxSlots bounds the slots a header may declare, so that a damaged one
// cannot make pyprof map gigabytes of control blocks.
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
	o, err := CheckHeader(head)
	_ = unix.Munmap(head)
	if err != nil {
		return nil, fmt.Errorf("shared memory of a child: %w", err)
	}
	size := wire.DataStart(o.Slots) + uint64(o.Slots)*o.RingBytes
	if uint64(st.Size) < size {
		return nil, fmt.Errorf("shared memory of a child: %d bytes, its header says %d", st.Size, size)
	}
	s, err := mapShared(f, o)
	if err != nil {
		return nil, fmt.Errorf("a child's shared memory: %w", err)
	}
	return s, nil
}

// CheckHeader reads the geometry of a header and checks it is one pyprof
// writes: its magic and version, a power-of-two ring of at least a page,
// rings where wire.h puts them, a known clock, and this process as the
// consumer. The agent writes the headers of the rings a child makes; this
// is the check that both sides agree.
func CheckHeader(h []byte) (o Options, err error) {
	le := binary.LittleEndian
	if len(h) < wire.HdrSize || le.Uint64(h[wire.HdrMagic:]) != wire.WireMagic {
		return o, fmt.Errorf("no pyprof header")
	}
	if v := le.Uint32(h[wire.HdrVersion:]); v != wire.WireVersion {
		return o, fmt.Errorf("wire format version %d, want %d", v, wire.WireVersion)
	}
	o = Options{Slots: int(le.Uint32(h[wire.HdrNslots:])), RingBytes: le.Uint64(h[wire.HdrRingBytes:]), Clock: le.Uint32(h[wire.HdrClock:])}
	start := le.Uint64(h[wire.HdrDataStart:])
	switch {
	case o.Slots < 1 || o.Slots > maxSlots:
		return o, fmt.Errorf("%d slots", o.Slots)
	case o.RingBytes < 4096 || o.RingBytes > 1<<30 || o.RingBytes&(o.RingBytes-1) != 0:
		return o, fmt.Errorf("ring size %d is not a power of two from 4096 bytes to 1GiB", o.RingBytes)
	case start != wire.DataStart(o.Slots):
		return o, fmt.Errorf("rings start at %d, want %d", start, wire.DataStart(o.Slots))
	case o.Clock != wire.ClockTsc && o.Clock != wire.ClockMonotonic:
		return o, fmt.Errorf("unknown clock %d", o.Clock)
	}
	if pid := le.Uint64(h[wire.HdrConsumerPid:]); pid != uint64(os.Getpid()) {
		return o, fmt.Errorf("consumer pid %d is not this pyprof's (%d)", pid, os.Getpid())
	}
	return o, nil
}

func (s *Shared) writeHeader(o Options) {
	le := binary.LittleEndian
	le.PutUint32(s.mem[wire.HdrVersion:], wire.WireVersion)
	le.PutUint32(s.mem[wire.HdrNslots:], uint32(o.Slots))
	le.PutUint64(s.mem[wire.HdrRingBytes:], o.RingBytes)
	le.PutUint64(s.mem[wire.HdrDataStart:], wire.DataStart(o.Slots))
	le.PutUint32(s.mem[wire.HdrClock:], o.Clock)
	le.PutUint64(s.mem[wire.HdrConsumerPid:], uint64(os.Getpid()))
	le.PutUint64(s.mem[wire.HdrMagic:], wire.WireMagic)
}

// File is the descriptor the target inherits.
func (s *Shared) File() *os.File { return s.file }

// Clock returns the header's clock, wire.ClockTsc or wire.ClockMonotonic.
func (s *Shared) Clock() uint32 { return s.clock }

// Slots returns every ring, taken or not.
func (s *Shared) Slots() []*Slot { return s.slots }

// Active returns the rings that threads have taken so far (and may have
// given back since): a prefix of Slots, as producers take the lowest free
// slot. The consumer scans these alone, so that slots no thread ever took
// cost nothing to poll.
func (s *Shared) Active() []*Slot {
	used := atomic.LoadUint32((*uint32)(unsafe.Pointer(&s.mem[wire.HdrSlotsUsed])))
	return s.slots[:min(int(used), len(s.slots))]
}

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

// GaveUp returns when (CLOCK_MONOTONIC ns) the agent stopped recording
// because the consumer, alive, had not drained a full ring for
// wire.SilentNs; 0 if it never did.
func (s *Shared) GaveUp() int64 { return int64(s.hdr64(wire.HdrGaveUp)) }

// Lost returns events the agent dropped: for want of a free slot, after
// the consumer died, and for want of address space to map a ring in.
func (s *Shared) Lost() (noSlot, noConsumer, noMemory uint64) {
	return s.hdr64(wire.HdrLostNoSlot), s.hdr64(wire.HdrLostNoConsumer), s.hdr64(wire.HdrLostNoMemory)
}

// keptBytes is how much of a ring Release leaves in memory for the slot's
// next thread: the part the agent maps for any thread and keeps mapped
// between threads (agent.c, FIRST_MAP). Most threads write no more, and
// their slots are then recycled with no system call; giving pages back
// costs a TLB flush in the program, which maps them (a third of a
// millisecond here).
const keptBytes = 64 << 10

// Release gives the memory of a drained slot back to the system, so that a
// program starting and ending many threads keeps a flat footprint: the
// pages its threads wrote past the first keptBytes.
func (s *Shared) Release(i int) {
	slot := s.slots[i]
	keep := min(keptBytes, slot.ringBytes)
	if slot.highWater > keep {
		f := slot.data.(*fileRing)
		// Best effort: a failure only costs memory.
		_ = unix.Fallocate(int(f.file.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE,
			f.offset+int64(keep), int64(slot.highWater-keep))
	}
	slot.highWater = 0
}

// Close unmaps the memory and closes the descriptor.
func (s *Shared) Close() error {
	err := unix.Munmap(s.mem)
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// fileRing is a ring in the memfd, at offset.
type fileRing struct {
	file   *os.File
	offset int64
}

func (r fileRing) ReadAt(p []byte, off int64) (int, error)  { return r.file.ReadAt(p, r.offset+off) }
func (r fileRing) WriteAt(p []byte, off int64) (int, error) { return r.file.WriteAt(p, r.offset+off) }
