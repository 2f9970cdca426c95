package sample

import (
	"bytes"
	"os"
	"testing"
	"unsafe"
)

// addrOf returns the address of b's first byte, to read it with
// process_vm_readv from this very process; b must be on the heap.
func addrOf(b []byte) Addr { return Addr(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func TestMergeScatter(t *testing.T) {
	mem := make([]byte, 64<<10)
	for i := range mem {
		mem[i] = byte(i * 7)
	}
	base := Addr(0x10000)
	req := func(off, n int) readReq { return readReq{base + Addr(off), make([]byte, n)} }
	tests := []struct {
		name   string
		reqs   []readReq
		spans  int
		merges bool
	}{
		{"one", []readReq{req(0, 8)}, 1, false},
		{"adjacent", []readReq{req(0, 8), req(8, 8)}, 1, true},
		{"small gap", []readReq{req(0, 8), req(4096, 100)}, 1, true},
		{"overlap and inside", []readReq{req(100, 50), req(120, 10), req(140, 20)}, 1, true},
		{"far apart", []readReq{req(0, 8), req(20000, 8)}, 2, false},
		{"descending", []readReq{req(500, 8), req(100, 8)}, 2, false},
		{"zero length", []readReq{req(0, 8), req(50, 0), req(16, 8)}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m memReader
			merged, ok := m.merge(tt.reqs)
			if ok != tt.merges {
				t.Fatalf("merged = %v, want %v", ok, tt.merges)
			}
			if !ok {
				return
			}
			if len(merged) != tt.spans {
				t.Fatalf("%d spans, want %d: %+v", len(merged), tt.spans, merged)
			}
			for _, r := range merged {
				copy(r.buf, mem[r.addr-base:])
			}
			m.scatter(tt.reqs, merged)
			for _, r := range tt.reqs {
				if !bytes.Equal(r.buf, mem[r.addr-base:int(r.addr-base)+len(r.buf)]) {
					t.Errorf("request at %#x got wrong bytes", r.addr)
				}
			}
		})
	}
}

// heapSink makes TestReplay's buffers escape to the heap: goroutine stacks
// move when they grow, heap objects do not.
var heapSink [][]byte

// TestReplay reads this process's own memory through the record and
// replay of memReader.
func TestReplay(t *testing.T) {
	a, b, c, d := make([]byte, 8), make([]byte, 16), make([]byte, 8), make([]byte, 8)
	heapSink = [][]byte{a, b, c, d}
	a[0], b[0], c[0], d[0] = 1, 2, 3, 4
	m := &memReader{pid: os.Getpid()}
	read := func(bufs ...[]byte) [][]byte {
		t.Helper()
		var reqs []readReq
		var out [][]byte
		for _, x := range bufs {
			o := make([]byte, len(x))
			reqs = append(reqs, readReq{addrOf(x), o})
			out = append(out, o)
		}
		if err := m.readv(reqs); err != nil {
			t.Fatal(err)
		}
		return out
	}
	calls := func() int64 { return m.calls.Load() }

	m.beginSample()
	read(a)
	read(b, c)
	m.endSample(true)
	if n := calls(); n != 2 {
		t.Fatalf("first sample: %d calls, want 2 (nothing to replay)", n)
	}

	a[0], b[0] = 11, 12 // the target moves between samples
	m.beginSample()
	got := read(a)
	got = append(got, read(b, c)...)
	m.endSample(true)
	if n := calls(); n != 3 {
		t.Errorf("second sample: %d calls in all, want 3 (one replay)", n)
	}
	if got[0][0] != 11 || got[1][0] != 12 || got[2][0] != 3 {
		t.Errorf("replayed %d %d %d, want the bytes as of the sample: 11 12 3", got[0][0], got[1][0], got[2][0])
	}

	m.beginSample() // replays a, b+c
	read(a)
	read(d) // diverges: live from here on
	b[0] = 22
	if got := read(b, c); got[0][0] != 22 {
		t.Errorf("after a divergence, b read %d, want the live 22", got[0][0])
	}
	m.endSample(false)
	if n := calls(); n != 6 {
		t.Errorf("third sample: %d calls in all, want 6 (replay, d, b+c)", n)
	}

	m.beginSample() // the failed sample is not replayed
	if n := calls(); n != 6 {
		t.Errorf("after a failed sample: %d calls, want no replay", n)
	}
	m.endSample(true)
	heapSink = nil
}
