package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// tree renders a profile's first thread as "name:line calls wall" lines.
func tree(p *callgraph.Profile) string {
	var b strings.Builder
	if len(p.Threads) == 0 {
		return ""
	}
	p.Threads[0].Root.Walk(func(path []*callgraph.Node) {
		n := path[len(path)-1]
		b.WriteString(strings.Repeat(" ", len(path)-1))
		b.WriteString(p.Funcs[n.Func].Name)
		b.WriteString(":" + itoa(int64(n.CallLine)) + " " + itoa(n.Total[callgraph.Calls]) + " " + itoa(n.Total[callgraph.Wall]) + "\n")
	})
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func decodeAll(t *testing.T, buf []byte) (*callgraph.Profile, *Decoder) {
	t.Helper()
	b := callgraph.NewBuilder()
	d := NewDecoder(b)
	if err := d.Decode(buf); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Finish(callgraph.FinishOptions{NanosPerTick: 1}), d
}

// twoChains encodes a thread whose main calls f, then g, each of which
// starts outer, which starts inner; inner yields with the tag of
// innerTags, outer with that of outerTags (one for f's chain, one for g's),
// and f and g end, the two chains left suspended.
func twoChains(innerTags, outerTags [2]uint32) *encoder {
	e := &encoder{}
	e.thread(1, 0)
	e.code(1, 10, "main", "/x/app.py", [][2]int32{{0, 10}})
	e.code(2, 20, "f", "/x/app.py", [][2]int32{{0, 20}})
	e.code(3, 30, "g", "/x/app.py", [][2]int32{{0, 30}})
	e.code(4, 40, "outer", "/x/app.py", [][2]int32{{0, 40}})
	e.code(5, 50, "inner", "/x/app.py", [][2]int32{{0, 50}})
	e.hot(KPyStart, 1, SiteNone, 0)
	for i, caller := range []uint32{2, 3} {
		at := uint64(1 + 10*i)
		e.hot(KPyStart, caller, 0, at)
		e.hot(KPyStart, 4, 0, at)
		e.hot(KPyStart, 5, 0, at+1)
		e.hot(KPyYield, 5, innerTags[i], at+2)
		e.hot(KPyYield, 4, outerTags[i], at+2)
		e.hot(KPyReturn, caller, 0, at+3)
	}
	return e
}

// TestDecodeThrowIntoChainsSharingATag: two suspended chains, outer
// delegating to inner, whose inner frames share a tag; a throw reaches the
// newer chain's inner frame, then its outer frame after the inner one
// unwinds. The decoder passes on the frames the throw reaches next, which
// tell the chains apart: the throw leaves the older chain suspended, and
// it resumes whole afterwards.
func TestDecodeThrowIntoChainsSharingATag(t *testing.T) {
	// inner tagged 1 both times, outer 7, then 8
	e := throwThenResume(false)
	p, _ := decodeAll(t, e.buf)
	want := twoChainsTree
	if got := tree(p); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	// A drain can end anywhere between two records, right after the throw
	// too.
	for _, at := range recordEnds(e.buf) {
		if got := tree(decodeSplit(t, e.buf, at)); got != want {
			t.Errorf("decoded in two parts, split at byte %d: tree:\n%s\nwant:\n%s", at, got, want)
		}
	}
}

// TestDecodeLooksPastClockRecords: a thread paused long enough between two
// records (a loaded machine) gets an XTime record before the second; it
// must not cut short what the decoder passes on after a throw or a
// resumption, or the chains sharing a tag are told apart by nothing.
func TestDecodeLooksPastClockRecords(t *testing.T) {
	p, _ := decodeAll(t, throwThenResume(true).buf)
	if got := tree(p); got != twoChainsTree {
		t.Errorf("tree:\n%s\nwant:\n%s", got, twoChainsTree)
	}
}

// throwThenResume writes twoChains whose inner frames share a tag, a throw
// into the newer chain, then the older chain resumed whole; paused puts
// an XTime record inside the throw's run and the resumption's.
func throwThenResume(paused bool) *encoder {
	e := twoChains([2]uint32{1, 1}, [2]uint32{7, 8})
	e.hot(KPyThrow, 5, 1, 30) // into the newer chain
	e.hot(KPyUnwind, 5, 0, 31)
	if paused {
		e.time(31)
	}
	e.hot(KPyThrow, 4, 8, 31)
	e.hot(KPyReturn, 4, 0, 32)
	e.hot(KPyResume, 4, 7, 40) // the older chain, whole
	if paused {
		e.time(40)
	}
	e.hot(KPyResume, 5, 1, 40)
	e.hot(KPyReturn, 5, 0, 41)
	e.hot(KPyReturn, 4, 0, 42)
	e.hot(KPyReturn, 1, 0, 60)
	return e
}

// twoChainsTree is throwThenResume's tree: each chain under the caller
// that made it.
const twoChainsTree = "app.main:0 1 60\n" +
	" app.f:10 1 5\n  app.outer:20 1 4\n   app.inner:40 1 2\n" +
	" app.g:10 1 5\n  app.outer:30 1 4\n   app.inner:40 1 2\n"

// recordEnds returns where each record of buf but the last ends.
func recordEnds(buf []byte) []int {
	var ends []int
	for off := 0; off+8 <= len(buf); {
		w := binary.LittleEndian.Uint64(buf[off:])
		off += 8
		if w>>KindShift == KExt {
			off += int(w>>LenShift&(1<<LenBits-1)+7) &^ 7
		}
		if off < len(buf) {
			ends = append(ends, off)
		}
	}
	return ends
}

// decodeSplit decodes buf in two calls, split at byte at, as a drain that
// found the ring's writer between two records gives it.
func decodeSplit(t *testing.T, buf []byte, at int) *callgraph.Profile {
	t.Helper()
	b := callgraph.NewBuilder()
	d := NewDecoder(b)
	for _, part := range [][]byte{buf[:at], buf[at:]} {
		if err := d.Decode(part); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Finish(callgraph.FinishOptions{NanosPerTick: 1})
}

func TestDecodeRecords(t *testing.T) {
	var e encoder
	e.thread(4242, 1000)
	name := binary.LittleEndian.AppendUint32(nil, 4)
	e.ext(XThreadName, append(name, "main"...))
	e.code(1, 10, "main", "/x/app.py", [][2]int32{{0, 10}, {3, 11}, {8, 12}})
	e.code(2, 20, "f", "/x/app.py", [][2]int32{{0, 20}})
	e.ext(XCallable, str(binary.LittleEndian.AppendUint32(nil, 1), "builtins.len"))
	e.hot(KPyStart, 1, SiteNone, 1000)
	e.hot(KPyStart, 2, 4, 1010) // offset 4 is on line 11
	e.hot(KCCall, 1, 0, 1011)   // native called from f's line 20
	e.hot(KCReturn, 1, 0, 1013)
	e.hot(KPyReturn, 2, 0, 1020)
	// A call site too large for the field comes in XBigSite.
	e.ext(XBigSite, binary.LittleEndian.AppendUint32(nil, 9))
	e.hot(KPyStart, 2, 0, 1030)
	e.hot(KPyYield, 2, 0, 1031)
	// Time that does not fit a delta comes in XTime.
	e.ext(XTime, binary.LittleEndian.AppendUint64(nil, 1<<40))
	e.last = 1 << 40
	e.hot(KPyResume, 2, 0, 1<<40)
	e.hot(KPyReturn, 2, 0, 1<<40+5)
	e.hot(KPyReturn, 1, 0, 1<<40+6)
	p, d := decodeAll(t, e.buf)
	want := "app.main:0 1 " + itoa(1<<40+6-1000) + "\n" +
		" app.f:11 1 10\n" +
		"  builtins.len:20 1 2\n" +
		" app.f:12 1 6\n" // the resumed generator goes on in its node
	if got := tree(p); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	if d.Events != 10 {
		t.Errorf("Events = %d, want 10", d.Events)
	}
	if th := p.Threads[0]; th.ID != 4242 || th.Name != "main" {
		t.Errorf("thread %d %q", th.ID, th.Name)
	}
}

// TestDecodeFrameTags: the site field of PY_YIELD, PY_RESUME and PY_THROW
// is the frame's tag, by which two generators of one function resume each
// in its own node, whatever order they resume in; a tag of TagNone, or
// SiteNone, is none.
func TestDecodeFrameTags(t *testing.T) {
	for _, tc := range []struct {
		name               string
		first, second, end uint32 // the tags of the generators, and of the last resumption
		want               string
	}{
		{
			name: "tagged", first: 1, second: TagMax, end: TagMax,
			// 1 and 4 for the first, 2 and 1 for the second
			want: "app.main:0 1 20\n app.gen:10 1 5\n app.gen:11 1 3\n",
		},
		{
			// Without tags, the newest suspension of the frame running
			// goes on first: the second generator's.
			name: "untagged", first: TagNone, second: TagNone, end: SiteNone,
			want: "app.main:0 1 20\n app.gen:10 1 2\n app.gen:11 1 6\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e encoder
			e.thread(1, 0)
			e.code(1, 10, "main", "/x/app.py", [][2]int32{{0, 10}, {3, 11}})
			e.code(2, 20, "gen", "/x/app.py", [][2]int32{{0, 20}})
			e.hot(KPyStart, 1, SiteNone, 0)
			e.hot(KPyStart, 2, 0, 1) // line 10
			e.hot(KPyYield, 2, tc.first, 2)
			e.hot(KPyStart, 2, 3, 3) // line 11
			e.hot(KPyYield, 2, tc.second, 5)
			e.hot(KPyResume, 2, tc.first, 6) // the first, resumed first
			e.hot(KPyReturn, 2, 0, 10)
			e.hot(KPyThrow, 2, tc.end, 11) // the second, thrown into
			e.hot(KPyUnwind, 2, 0, 12)
			e.hot(KPyReturn, 1, 0, 20)
			p, _ := decodeAll(t, e.buf)
			if got := tree(p); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestDecodeChainsSharingATag: two suspended chains, an outer coroutine
// awaiting an inner one, whose outer frames share a tag, the older
// resumed first. The decoder passes on the resumption that follows the
// outer one, which tells the chains apart: each inner frame goes on in
// its own chain, under f and under g, none as a frame of no call.
func TestDecodeChainsSharingATag(t *testing.T) {
	// inner tagged 1, then 2, outer 7 both times
	e := twoChains([2]uint32{1, 2}, [2]uint32{7, 7})
	for i := range 2 {
		at := uint64(30 + 10*i)
		e.hot(KPyResume, 4, 7, at)
		e.hot(KPyResume, 5, uint32(1+i), at)
		e.hot(KPyReturn, 5, 0, at+1)
		e.hot(KPyReturn, 4, 0, at+2)
	}
	e.hot(KPyReturn, 1, 0, 60)
	// outer runs 2 ticks at its start and 2 resumed, inner 1 and 1; f and
	// g take their chain's resumed run too (no node holds more than its
	// parent).
	want := "app.main:0 1 60\n" +
		" app.f:10 1 5\n  app.outer:20 1 4\n   app.inner:40 1 2\n" +
		" app.g:10 1 5\n  app.outer:30 1 4\n   app.inner:40 1 2\n"
	p, _ := decodeAll(t, e.buf)
	if got := tree(p); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	// A drain can end anywhere between two records, right after an outer
	// resumption too.
	for _, at := range recordEnds(e.buf) {
		if got := tree(decodeSplit(t, e.buf, at)); got != want {
			t.Errorf("decoded in two parts, split at byte %d: tree:\n%s\nwant:\n%s", at, got, want)
		}
	}
}

func TestDecodeBigID(t *testing.T) {
	var e encoder
	e.thread(1, 0)
	e.code(3_000_000, 1, "big", "b.py", nil)
	e.ext(XBigId, binary.LittleEndian.AppendUint32(nil, 3_000_000))
	e.hot(KPyStart, 0, SiteNone, 1)
	e.ext(XBigId, binary.LittleEndian.AppendUint32(nil, 3_000_000))
	e.hot(KPyReturn, 0, 0, 2)
	p, _ := decodeAll(t, e.buf)
	if got := tree(p); got != "b.big:0 1 1\n" {
		t.Errorf("tree %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	var before encoder
	before.hot(KPyStart, 1, 0, 1)
	var short encoder
	short.thread(1, 0)
	short.word(uint64(XCode)<<SubShift | 100<<LenShift)
	var kind encoder
	kind.thread(1, 0)
	kind.word(15 << KindShift)
	var sub encoder
	sub.thread(1, 0)
	sub.ext(99, nil)
	var lines encoder
	lines.thread(1, 0)
	p := binary.LittleEndian.AppendUint32(nil, 1)
	p = binary.LittleEndian.AppendUint32(p, 1)
	p = binary.LittleEndian.AppendUint32(p, 0)
	p = str(str(str(p, "q"), "f"), "m")
	p = binary.LittleEndian.AppendUint32(p, 1<<30)
	lines.ext(XCode, p)
	for _, tc := range []struct {
		name string
		buf  []byte
		want string
	}{
		{"event before thread", before.buf, "before the thread record"},
		{"payload past the end", short.buf, "runs past the end"},
		{"unknown kind", kind.buf, "unknown record kind 15"},
		{"unknown extended record", sub.buf, "unknown extended record 99"},
		{"line table too long", lines.buf, "does not fit"},
		{"trailing bytes", append(before.buf[:0:0], 1, 2, 3), "trailing bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewDecoder(callgraph.NewBuilder()).Decode(tc.buf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzDecode: no input may panic the decoder or make it allocate wildly.
func FuzzDecode(f *testing.F) {
	var e encoder
	e.thread(1, 0)
	e.code(1, 1, "f", "f.py", [][2]int32{{0, 1}})
	e.hot(KPyStart, 1, 2, 5)
	e.hot(KCCall, 1, 3, 6)
	e.hot(KCReturn, 1, 0, 7)
	e.hot(KPyReturn, 1, 0, 9)
	f.Add(e.buf)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, buf []byte) {
		b := callgraph.NewBuilder()
		d := NewDecoder(b)
		_ = d.Decode(buf)
		b.Finish(callgraph.FinishOptions{NanosPerTick: 1})
	})
}

// fibCapture encodes the events of fib(n), repeated until at least
// minEvents are in the capture.
func fibCapture(n int, minEvents int) ([]byte, int) {
	var e encoder
	e.thread(1, 0)
	e.code(1, 1, "<module>", "fib.py", [][2]int32{{0, 1}})
	e.code(2, 5, "fib", "fib.py", [][2]int32{{0, 5}, {10, 6}})
	var ts uint64
	events := 0
	var fib func(n int, site uint32)
	fib = func(n int, site uint32) {
		ts += 30
		e.hot(KPyStart, 2, site, ts)
		if n >= 2 {
			fib(n-1, 12)
			fib(n-2, 14)
		}
		ts += 30
		e.hot(KPyReturn, 2, 0, ts)
		events += 2
	}
	for events < minEvents {
		fib(n, 4)
	}
	return e.buf, events
}

// BenchmarkDecodeAndBuild measures the consumer: decoding a capture of
// more than 20 M events and building its tree, on one core.
func BenchmarkDecodeAndBuild(b *testing.B) {
	buf, events := fibCapture(25, 20_000_000)
	benchmarkDecode(b, buf, events)
}

// benchmarkDecode decodes capture buf of so many events into a new
// builder at each iteration, in drain-sized chunks, as the consumer sees
// them.
func benchmarkDecode(b *testing.B, buf []byte, events int) {
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := NewDecoder(callgraph.NewBuilder())
		for off := 0; off < len(buf); off += 1 << 20 {
			if err := d.Decode(buf[off:min(off+1<<20, len(buf))]); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mevents/s")
}

// TestDecodeModules checks that a code definition's module names its
// function: two files of the same name in two packages stay two functions,
// and only a code object of unknown module is named from its file.
func TestDecodeModules(t *testing.T) {
	var e encoder
	e.thread(1, 0)
	e.codeIn(1, 1, "<module>", "/src/main.py", "__main__", nil)
	e.codeIn(2, 1, "helper", "/src/alpha/utils.py", "alpha.utils", nil)
	e.codeIn(3, 1, "helper", "/src/beta/utils.py", "beta.utils", nil)
	e.codeIn(4, 1, "setup", "/src/app/__init__.py", "app", nil)
	e.code(5, 1, "anonymous", "/src/gamma/utils.py", nil)
	e.hot(KPyStart, 1, SiteNone, 1)
	for id := uint32(2); id <= 5; id++ {
		e.hot(KPyStart, id, SiteNone, uint64(2*id))
		e.hot(KPyReturn, id, 0, uint64(2*id+1))
	}
	e.hot(KPyReturn, 1, 0, 20)
	p, _ := decodeAll(t, e.buf)
	want := "__main__.<module>:0 1 19\n" +
		" alpha.utils.helper:0 1 1\n" +
		" beta.utils.helper:0 1 1\n" +
		" app.setup:0 1 1\n" +
		" utils.anonymous:0 1 1\n"
	if got := tree(p); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

// generatorChain encodes a generator delegating to another, depth deep
// (yield from, all the way down), that yields items times: each item
// resumes the whole chain and is yielded back up through it.
func generatorChain(depth, items int) ([]byte, int) {
	var e encoder
	e.thread(1, 0)
	e.code(1, 1, "<module>", "chain.py", [][2]int32{{0, 1}})
	e.code(2, 3, "chain", "chain.py", [][2]int32{{0, 3}, {10, 4}})
	var ts uint64
	next := func() uint64 { ts += 20; return ts }
	e.hot(KPyStart, 1, 0, next())
	events := 1
	for range depth {
		e.hot(KPyStart, 2, 10, next())
		events++
	}
	yieldUp := func() {
		for level := depth - 1; level >= 0; level-- {
			e.hot(KPyYield, 2, uint32(level+1), next())
			events++
		}
	}
	yieldUp()
	for range items {
		for level := range depth {
			e.hot(KPyResume, 2, uint32(level+1), next())
			events++
		}
		yieldUp()
	}
	for range depth {
		e.hot(KPyReturn, 2, 0, next())
		events++
	}
	e.hot(KPyReturn, 1, 0, next())
	return e.buf, events + 1
}

// TestPeekRunMatchesPeek checks the sliding window of peekRun against
// peeking anew at every resumption (eventAt, as peekInner does), on
// streams that mix chains of resumptions with clock records, other
// events and big ids.
func TestPeekRunMatchesPeek(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var e encoder
		e.thread(1, 0)
		var ts uint64
		for range 300 {
			ts += 10
			switch r := rng.IntN(10); {
			case r < 6:
				e.hot([]uint32{KPyResume, KPyThrow}[rng.IntN(2)], uint32(1+rng.IntN(5)), uint32(rng.IntN(8)), ts)
			case r < 7:
				e.time(ts)
			case r < 8:
				e.ext(XBigId, binary.LittleEndian.AppendUint32(nil, 1<<20))
				e.hot(KPyResume, 0, 3, ts)
			default:
				e.hot([]uint32{KPyYield, KPyStart, KPyReturn}[rng.IntN(3)], 1, 0, ts)
			}
		}
		buf := e.buf
		b := callgraph.NewBuilder()
		d := NewDecoder(b)
		d.thread = b.NewThread(1)
		for p := 0; p+8 <= len(buf); p += RecordSize(binary.LittleEndian.Uint64(buf[p:])) {
			if !isResumption(binary.LittleEndian.Uint64(buf[p:])) {
				continue
			}
			d.peekRun(buf, p)
			var want []callgraph.Resumption
			for j := 0; len(want) < maxInner; j++ {
				w, ok := eventAt(nil, buf[p+8:], &j)
				if !ok || !isResumption(w) {
					break
				}
				want = append(want, resumption(w))
			}
			if got := d.inner[:d.run.n]; !slices.Equal(got, want) {
				t.Fatalf("round %d, record at byte %d: window %v, peeking anew %v", round, p, got, want)
			}
		}
	}
}

// BenchmarkDecodeGeneratorChain measures the consumer on a generator
// chain 200 deep, where nearly every record is a resumption or a yield.
func BenchmarkDecodeGeneratorChain(b *testing.B) {
	buf, events := generatorChain(200, 20_000)
	benchmarkDecode(b, buf, events)
}
