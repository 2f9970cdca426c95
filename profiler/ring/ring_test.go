package ring

import (
	"encoding/binary"
	"runtime"
	"sync"
	"testing"

	"github.com/pyprof/pyprof/profiler/wire"
)

func newTestSlot(t *testing.T, ringBytes uint64) *Slot {
	t.Helper()
	// A []uint64 backing array guarantees the 8-byte alignment atomics need.
	words := make([]uint64, (wire.SlotCtrlSize+ringBytes)/8)
	mem := unsafeBytes(words)
	return NewSlot(mem[:wire.SlotCtrlSize], mem[wire.SlotCtrlSize:])
}

// record makes a record of n words whose words carry seq, so the consumer
// can check order and integrity.
func record(seq uint64, n int) []uint64 {
	words := make([]uint64, n)
	for i := range words {
		words[i] = seq<<8 | uint64(n)<<4 | uint64(i)
	}
	return words
}

// TestDrainSeesEveryRecordInOrder runs a producer and a consumer
// concurrently over a small ring, with records of 1 to 5 words so that
// some straddle the end of the ring.
func TestDrainSeesEveryRecordInOrder(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ringBytes uint64
		records   int
	}{
		{"small ring wraps often", 4096, 20000},
		{"larger ring", 1 << 16, 50000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSlot(t, tc.ringBytes)
			p := NewProducer(s)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := 0; seq < tc.records; seq++ {
					rec := record(uint64(seq), 1+seq%5)
					for !p.TryWrite(rec...) {
						runtime.Gosched() // the ring is full: wait for the consumer
					}
				}
				p.Close()
			}()
			var got []uint64
			drainUntilClosed(t, s, func(b []byte) {
				for i := 0; i+8 <= len(b); i += 8 {
					got = append(got, binary.LittleEndian.Uint64(b[i:]))
				}
			})
			wg.Wait()
			var want []uint64
			for seq := 0; seq < tc.records; seq++ {
				want = append(want, record(uint64(seq), 1+seq%5)...)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d words, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("word %d: got %#x, want %#x", i, got[i], want[i])
				}
			}
		})
	}
}

// wireRecord is record seq in the wire format: hot when seq%3 == 0, else an
// extended record of 1 to 9 payload words that all carry seq.
func wireRecord(seq uint64) []uint64 {
	if seq%3 == 0 {
		return []uint64{uint64(wire.KPyStart)<<wire.KindShift | seq}
	}
	n := 1 + seq%9
	words := []uint64{uint64(wire.XCode)<<wire.SubShift | 8*n<<wire.LenShift}
	for range n {
		words = append(words, seq)
	}
	return words
}

// TestDrainHandsOverWholeRecords writes records in the wire format, hot
// ones and extended ones of 1 to 9 payload words, over a ring that wraps
// often, and checks that every buffer the consumer gets holds whole
// records, in order.
func TestDrainHandsOverWholeRecords(t *testing.T) {
	const ringBytes, records = 4096, 20000
	s := newTestSlot(t, ringBytes)
	p := NewProducer(s)
	rec := wireRecord
	go func() {
		for seq := range uint64(records) {
			for !p.TryWrite(rec(seq)...) {
				runtime.Gosched()
			}
		}
		p.Close()
	}()
	var got []uint64
	drainUntilClosed(t, s, func(b []byte) {
		if n := wire.WholeRecords(b); n != len(b) {
			t.Fatalf("a buffer of %d bytes holds %d bytes of whole records", len(b), n)
		}
		for i := 0; i < len(b); i += 8 {
			got = append(got, binary.LittleEndian.Uint64(b[i:]))
		}
	})
	var want []uint64
	for seq := range uint64(records) {
		want = append(want, rec(seq)...)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d words, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("word %d: got %#x, want %#x", i, got[i], want[i])
		}
	}
}

// TestDrainReadsAChunkAtATime: a ring far behind its producer is read a
// chunk at a time, records cut by a chunk's end passed whole with the
// next, so that pyprof holds a chunk of a ring at once, not the ring.
func TestDrainReadsAChunkAtATime(t *testing.T) {
	const ringBytes = 4 * drainChunk
	s := newTestSlot(t, ringBytes)
	p := NewProducer(s)
	var want []uint64
	for seq := uint64(0); p.TryWrite(wireRecord(seq)...); seq++ {
		want = append(want, wireRecord(seq)...)
	}
	var got []uint64
	calls := 0
	if _, err := s.Drain(func(b []byte) error {
		calls++
		if n := wire.WholeRecords(b); n != len(b) {
			t.Fatalf("a buffer of %d bytes holds %d bytes of whole records", len(b), n)
		}
		if len(b) > drainChunk+8*10 {
			t.Fatalf("a buffer of %d bytes, more than a chunk and a record", len(b))
		}
		for i := 0; i < len(b); i += 8 {
			got = append(got, binary.LittleEndian.Uint64(b[i:]))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if calls < 4 || len(got) != len(want) {
		t.Fatalf("%d words in %d buffers, want %d words in at least 4", len(got), calls, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("word %d: got %#x, want %#x", i, got[i], want[i])
		}
	}
	if c := cap(*s.buf); c > drainChunk+bufStep {
		t.Errorf("the drain's buffer grew to %d bytes: more than a chunk and a step", c)
	}
}

func TestFreeResetsForTheNextThread(t *testing.T) {
	s := newTestSlot(t, 4096)
	p := NewProducer(s)
	p.TryWrite(1, 2, 3)
	p.Close()
	if n, _ := s.Drain(func([]byte) error { return nil }); n != 24 {
		t.Fatalf("drained %d bytes", n)
	}
	s.Free()
	if s.State() != wire.SlotFree || s.Pending() != 0 {
		t.Fatalf("state %d pending %d after Free", s.State(), s.Pending())
	}
	p2 := NewProducer(s)
	p2.TryWrite(9)
	if s.Generation() != 2 {
		t.Errorf("generation %d, want 2", s.Generation())
	}
	var got []byte
	s.Drain(func(b []byte) error { got = append(got, b...); return nil })
	if len(got) != 8 || binary.LittleEndian.Uint64(got) != 9 {
		t.Errorf("second thread's record: %v", got)
	}
}

func TestFullRingRefusesUntilDrained(t *testing.T) {
	s := newTestSlot(t, 4096)
	p := NewProducer(s)
	for i := 0; i < 512; i++ {
		if !p.TryWrite(uint64(i)) {
			t.Fatalf("ring full after %d words", i)
		}
	}
	if p.TryWrite(1) {
		t.Fatal("a full ring accepted a record")
	}
	s.Drain(func([]byte) error { return nil })
	if !p.TryWrite(1) {
		t.Fatal("a drained ring refused a record")
	}
}

func TestSharedHeader(t *testing.T) {
	sh, err := Create(Options{Slots: 3, RingBytes: 1 << 16, Clock: wire.ClockMonotonic})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	le := binary.LittleEndian
	if le.Uint64(sh.mem[wire.HdrMagic:]) != wire.WireMagic || le.Uint32(sh.mem[wire.HdrNslots:]) != 3 ||
		le.Uint64(sh.mem[wire.HdrDataStart:]) != wire.DataStart(3) || len(sh.Slots()) != 3 {
		t.Fatal("header does not describe the layout")
	}
	if sh.Status() != wire.StatusStarting || sh.ErrorMessage() != "" {
		t.Fatalf("fresh status %d %q", sh.Status(), sh.ErrorMessage())
	}
	copy(sh.mem[wire.HdrError:], "boom\x00")
	if sh.ErrorMessage() != "boom" {
		t.Errorf("error message %q", sh.ErrorMessage())
	}
	if _, err := Create(Options{Slots: 1, RingBytes: 5000}); err == nil {
		t.Error("a ring size that is not a power of two was accepted")
	}
}

// drainUntilClosed drains s into consume until its producer has closed it
// and the last drain after that has run.
func drainUntilClosed(t *testing.T, s *Slot, consume func([]byte)) {
	t.Helper()
	for {
		closed := s.State() == wire.SlotClosed
		if _, err := s.Drain(func(b []byte) error {
			consume(b)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if closed {
			return
		}
		runtime.Gosched()
	}
}
