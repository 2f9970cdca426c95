package ring

import (
	"encoding/binary"
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
	o, stride, err := CheckHeader(sh.mem[:wire.HdrSize])
	if err != nil || o != (Options{Slots: 3, RingBytes: 1 << 16, Clock: wire.ClockTsc}) || stride != wire.SlotData+1<<16 {
		t.Fatalf("CheckHeader = %+v, %d, %v", o, stride, err)
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
		{"stride", func(h []byte) { le.PutUint64(h[wire.HdrSlotStride:], 1<<16) }, "stride"},
		{"clock", func(h []byte) { le.PutUint32(h[wire.HdrClock:], 7) }, "clock"},
		{"consumer", func(h []byte) { le.PutUint64(h[wire.HdrConsumerPid:], 1) }, "consumer pid 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := make([]byte, wire.HdrSize)
			sh := &Shared{mem: h, stride: wire.SlotData + 1<<16}
			sh.writeHeader(Options{Slots: 2, RingBytes: 1 << 16, Clock: wire.ClockMonotonic})
			tc.change(h)
			if _, _, err := CheckHeader(h); err == nil || !strings.Contains(err.Error(), tc.want) {
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
	(&Shared{mem: h, stride: wire.SlotData + 4096}).writeHeader(Options{Slots: 2, RingBytes: 4096, Clock: wire.ClockMonotonic})
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
	full := int64(wire.HdrSize + 2*(wire.SlotData+4096))
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
