package ring

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/profiler/wire"
)

// TestCheckHeaderAcceptsWhatCreateWrites: the header the agent writes for
// a child's rings is checked against what pyprof itself writes.
func TestCheckHeaderAcceptsWhatCreateWrites(t *testing.T) {
	sh, err := Create(Options{Slots: 3, RingBytes: 1 << 16, Clock: wire.ClockTsc})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	o, err := CheckHeader(sh.mem[:wire.HdrSize])
	if err != nil || o != (Options{Slots: 3, RingBytes: 1 << 16, Clock: wire.ClockTsc}) {
		t.Fatalf("CheckHeader = %+v, %v", o, err)
	}
}

func TestCheckHeaderRefuses(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name   string
		change func(h []byte)
		want   string
	}{
		{"magic", func(h []byte) { le.PutUint64(h[wire.HdrMagic:], 1) }, "no pyprof header"},
		{"version", func(h []byte) { le.PutUint32(h[wire.HdrVersion:], wire.WireVersion+1) }, "version"},
		{"no slots", func(h []byte) { le.PutUint32(h[wire.HdrNslots:], 0) }, "0 slots"},
		{"too many slots", func(h []byte) { le.PutUint32(h[wire.HdrNslots:], maxSlots+1) }, "slots"},
		{"ring size", func(h []byte) { le.PutUint64(h[wire.HdrRingBytes:], 5000) }, "power of two"},
		{"rings start", func(h []byte) { le.PutUint64(h[wire.HdrDataStart:], wire.HdrSize) }, "rings start"},
		{"clock", func(h []byte) { le.PutUint32(h[wire.HdrClock:], 7) }, "clock"},
		{"consumer", func(h []byte) { le.PutUint64(h[wire.HdrConsumerPid:], 1) }, "consumer pid 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := make([]byte, wire.HdrSize)
			sh := &Shared{mem: h}
			sh.writeHeader(Options{Slots: 2, RingBytes: 1 << 16, Clock: wire.ClockMonotonic})
			tc.change(h)
			if _, err := CheckHeader(h); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// childMemfd makes shared memory as a child's agent does: a memfd with
// pyprof's header, sealed or not.
func childMemfd(t *testing.T, seal bool, size int64) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("test-rings", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "test-rings")
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	h := make([]byte, wire.HdrSize)
	(&Shared{mem: h}).writeHeader(Options{Slots: 2, RingBytes: 4096, Clock: wire.ClockMonotonic})
	if _, err := f.WriteAt(h, 0); err != nil {
		t.Fatal(err)
	}
	if seal {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestOpenMapsAChildsRings(t *testing.T) {
	full := int64(wire.DataStart(2) + 2*4096)
	f := childMemfd(t, true, full)
	sh, err := Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if len(sh.Slots()) != 2 || sh.Clock() != wire.ClockMonotonic {
		t.Fatalf("%d slots, clock %d", len(sh.Slots()), sh.Clock())
	}
	p := NewProducer(sh.Slots()[1])
	if !p.TryWrite(7) {
		t.Fatal("cannot write into the child's ring")
	}
	var got []byte
	sh.Slots()[1].Drain(func(b []byte) error { got = append(got, b...); return nil })
	if len(got) != 8 || binary.LittleEndian.Uint64(got) != 7 {
		t.Errorf("drained %v", got)
	}

	// Unsealed memory could shrink under pyprof's reads; short memory
	// would fault past its end.
	for name, f := range map[string]*os.File{"unsealed": childMemfd(t, false, full), "short": childMemfd(t, true, full-4096)} {
		if sh, err := Open(f); err == nil {
			sh.Close()
			t.Errorf("%s shared memory was opened", name)
		}
		f.Close()
	}
}

// ringsMapped sums the sizes of this process's mappings of shared memory
// named name, from /proc/self/maps.
func ringsMapped(t *testing.T, name string) uint64 {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, line := range strings.Split(string(maps), "\n") {
		if !strings.Contains(line, "memfd:"+name) {
			continue
		}
		var lo, hi uint64
		if _, err := fmt.Sscanf(line, "%x-%x", &lo, &hi); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		total += hi - lo
	}
	return total
}

// allocated is how many bytes of the memfd hold pages.
func allocated(t *testing.T, f *os.File) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestSharedMemoryFollowsWhatIsWritten: shared memory for thousands of
// 8 MiB rings maps the header and control blocks alone, and no more as
// rings are drained; it holds the pages producers wrote, and a ring's
// release gives them back but for the first keptBytes, which the slot's
// next thread writes into.
func TestSharedMemoryFollowsWhatIsWritten(t *testing.T) {
	const slots, ringBytes = 4096, 8 << 20
	sh, err := Create(Options{Slots: slots, RingBytes: ringBytes, Clock: wire.ClockMonotonic})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	header := int64(wire.DataStart(slots))
	if got := ringsMapped(t, "pyprof-rings"); got != uint64(header) {
		t.Fatalf("%d bytes mapped, want the header and control blocks alone (%d)", got, header)
	}
	if n := len(sh.Active()); n != 0 {
		t.Fatalf("%d slots active before any producer", n)
	}
	slot := sh.Slots()[2]
	p := NewProducer(slot)
	if n := len(sh.Active()); n != 3 {
		t.Fatalf("%d slots active after slot 2 was taken, want 3", n)
	}
	write := func(words int) {
		t.Helper()
		for sent := 0; sent < words; {
			batch := make([]uint64, min(words-sent, 512))
			if !p.TryWrite(batch...) {
				if _, err := slot.Drain(func([]byte) error { return nil }); err != nil {
					t.Fatal(err)
				}
				continue
			}
			sent += len(batch)
		}
		if _, err := slot.Drain(func([]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	write(100 << 10 / 8) // 100 KiB
	if a := allocated(t, sh.File()); a < 100<<10 || a > header+128<<10 {
		t.Errorf("%d bytes allocated after 100 KiB were written", a)
	}
	write(ringBytes / 8) // wraps
	if a := allocated(t, sh.File()); a < ringBytes {
		t.Errorf("%d bytes allocated after a whole ring was written", a)
	}
	p.Close()
	sh.Release(2)
	slot.Free()
	if a := allocated(t, sh.File()); a > header+keptBytes {
		t.Errorf("%d bytes still allocated after the ring was released, want at most %d", a, header+keptBytes)
	}
	if got := ringsMapped(t, "pyprof-rings"); got != uint64(header) {
		t.Errorf("%d bytes mapped after rings were drained, want %d", got, header)
	}
}

// TestDrainSkipsWhatItCannotRead: records that cannot be read are skipped
// with an error, so that their producer does not wait for room for ever;
// positions no producer writes are refused.
func TestDrainSkipsWhatItCannotRead(t *testing.T) {
	sh, err := Create(Options{Slots: 2, RingBytes: 1 << 16, Clock: wire.ClockMonotonic})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	slot := sh.Slots()[0]
	p := NewProducer(slot)
	p.TryWrite(1, 2)
	closed, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	slot.data = fileRing{closed, 0}
	n, err := slot.Drain(func([]byte) error {
		t.Error("records that were not read were consumed")
		return nil
	})
	if err == nil || n != 16 || slot.Pending() != 0 {
		t.Errorf("drained %d bytes, %d pending, error %v; want 16 skipped and an error", n, slot.Pending(), err)
	}

	binary.LittleEndian.PutUint64(slot.ctrl[wire.SlotReadPos:], 1<<20) // ahead of the write position
	if _, err := slot.Drain(func([]byte) error { return nil }); err == nil {
		t.Error("a read position ahead of the write position was drained")
	}
}
