package bench_test

import (
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/profiler/wire"
)

// capture is a ring's worth of records, written the way the agents write
// them (profiler/agent/c/wire.h), built with the wire constants only.
type capture struct {
	buf    []byte
	last   uint64
	events int
}

func (c *capture) word(w uint64) { c.buf = binary.LittleEndian.AppendUint64(c.buf, w) }

func (c *capture) ext(sub int, payload []byte) {
	c.word(uint64(sub)<<wire.SubShift | uint64(len(payload))<<wire.LenShift)
	c.buf = append(c.buf, payload...)
	for len(c.buf)%8 != 0 {
		c.buf = append(c.buf, 0)
	}
}

func (c *capture) hot(kind, id, site uint32, at uint64) {
	c.word(uint64(kind)<<wire.KindShift | uint64(id)<<wire.IdShift | uint64(site)<<wire.SiteShift | (at - c.last))
	c.last = at
	c.events++
}

func (c *capture) thread(tid uint64) {
	p := binary.LittleEndian.AppendUint64(nil, tid)
	p = binary.LittleEndian.AppendUint64(p, 1)
	c.ext(wire.XThread, binary.LittleEndian.AppendUint64(p, c.last))
}

func appendString(p []byte, s string) []byte {
	return append(binary.LittleEndian.AppendUint32(p, uint32(len(s))), s...)
}

// code defines code id with one line for all its instructions.
func (c *capture) code(id uint32, qualname string, line uint32) {
	p := binary.LittleEndian.AppendUint32(nil, id)
	p = binary.LittleEndian.AppendUint32(p, line-1)
	p = binary.LittleEndian.AppendUint32(p, 0)
	p = appendString(appendString(appendString(p, qualname), "fib.py"), "fib")
	p = binary.LittleEndian.AppendUint32(p, 1)
	p = binary.LittleEndian.AppendUint32(p, 0)
	c.ext(wire.XCode, binary.LittleEndian.AppendUint32(p, line))
}

// fibCapture records fib(n) as CPython raises it: fib calls itself from
// two call sites, fib(n - 1) and fib(n - 2), on one line. A tree keyed by
// call-site offset rather than line grows a node per call here.
func fibCapture(n int, sites [2]uint32) *capture {
	c := &capture{last: 1000}
	c.thread(1)
	c.code(1, "fib", 6)
	var fib func(n int, site uint32)
	fib = func(n int, site uint32) {
		c.hot(wire.KPyStart, 1, site, c.last+40)
		if n >= 2 {
			fib(n-1, sites[0])
			fib(n-2, sites[1])
		}
		c.hot(wire.KPyReturn, 1, 0, c.last+30)
	}
	fib(n, wire.SiteNone)
	return c
}

// BenchmarkConsumer measures pyprof's Go side on one thread's records:
// decoding drain-sized chunks, building the tree, and writing the pprof
// profile. fib(32) raises 21 M events in 0.19 s unprofiled on a 2-core
// machine, so the consumer must sustain tens of Mevents/s; B/event shows
// whether its memory grows with the run.
func BenchmarkConsumer(b *testing.B) {
	for _, tc := range []struct {
		name  string
		sites [2]uint32
	}{
		{"fib-one-site", [2]uint32{9, 9}},
		{"fib-two-sites", [2]uint32{9, 21}},
	} {
		c := fibCapture(25, tc.sites)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.buf)))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				consume(b, c.buf)
			}
			runtime.ReadMemStats(&after)
			events := float64(c.events) * float64(b.N)
			b.ReportMetric(events/b.Elapsed().Seconds()/1e6, "Mevents/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/events, "B/event")
		})
	}
}

func consume(b *testing.B, buf []byte) {
	bl := callgraph.NewBuilder()
	d := wire.NewDecoder(bl)
	for off := 0; off < len(buf); off += 1 << 20 {
		if err := d.Decode(buf[off:min(off+1<<20, len(buf))]); err != nil {
			b.Fatal(err)
		}
	}
	p := bl.Finish(callgraph.FinishOptions{NanosPerTick: 1})
	if err := export.WritePprof(io.Discard, p, export.Options{}); err != nil {
		b.Fatal(err)
	}
}
