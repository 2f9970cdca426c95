package sample

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

// selfReport is the JSON line selfreport.py prints.
type selfReport struct {
	// Threads maps a native thread id to its frames, root first: file,
	// qualname, first line, line, code object address.
	Threads map[string][][]json.RawMessage `json:"threads"`
	// Codes maps a code object's address to its first traceable unit.
	Codes map[string]int64 `json:"codes"`
	// CodeHeader is where a code object's bytecode starts.
	CodeHeader uint64 `json:"code_header"`
	// HexVersion is sys.hexversion.
	HexVersion uint64 `json:"hexversion"`
	// Sizes maps a type's name to its basic and item sizes.
	Sizes map[string][2]uint64 `json:"sizes"`
}

// startSelfReport starts selfreport.py under py and returns its report.
func startSelfReport(t *testing.T, py python) (*target, *selfReport) {
	t.Helper()
	tg := startTarget(t, py, "selfreport.py")
	if len(tg.lines) == 0 {
		t.Fatal("selfreport.py printed no report")
	}
	var rep selfReport
	if err := json.Unmarshal([]byte(tg.lines[len(tg.lines)-1]), &rep); err != nil {
		t.Fatalf("report %q: %v", tg.lines[len(tg.lines)-1], err)
	}
	return tg, &rep
}

// reportedFrame is one frame as the interpreter reports it.
type reportedFrame struct {
	file, qualname  string
	firstLine, line int
	code            Addr
}

func (r *selfReport) frames(t *testing.T, tid string) []reportedFrame {
	t.Helper()
	var out []reportedFrame
	for _, f := range r.Threads[tid] {
		var rf reportedFrame
		var code uint64
		for i, dst := range []any{&rf.file, &rf.qualname, &rf.firstLine, &rf.line, &code} {
			if err := json.Unmarshal(f[i], dst); err != nil {
				t.Fatalf("thread %s: frame %s: %v", tid, f, err)
			}
		}
		rf.code = Addr(code)
		out = append(out, rf)
	}
	return out
}

// TestWalkMatchesInterpreter compares what the walker reads of threads
// parked in stacks that stand still with what the interpreter itself says
// of them (selfreport.py): each frame's file, qualname, first line, line
// and code object, each code object's first traceable instruction, and
// where bytecode starts in a code object; and checks that every thread's
// datastack_top lies in its current stack chunk. It checks the layout of a
// version whose internal headers are not installed (3.14 here), where
// TestLayoutMatchesHeaders cannot, and runs on every version.
func TestWalkMatchesInterpreter(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		tg, rep := startSelfReport(t, py)
		p := attach(t, tg)
		if p.lay.coCode != rep.CodeHeader {
			t.Errorf("co_code_adaptive at %d, the interpreter says %d", p.lay.coCode, rep.CodeHeader)
		}
		snap := sampleConsistent(t, p)
		addrs := codeAddrs(p)
		for tid := range rep.Threads {
			id, err := strconv.ParseInt(tid, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			compareThread(t, threadOf(t, snap, id), rep.frames(t, tid), rep.Codes, addrs)
		}
		checkStackTops(t, p)
	})
}

// sampleConsistent takes a sample, again while the thread list moves.
func sampleConsistent(t *testing.T, p *Process) *Snapshot {
	t.Helper()
	for range 10 {
		s, err := p.Sample()
		if err == nil {
			return s
		}
		if !errors.Is(err, ErrInconsistent) {
			t.Fatal(err)
		}
	}
	t.Fatal("no consistent sample in 10 tries")
	return nil
}

// codeAddrs maps each decoded code object to its address.
func codeAddrs(p *Process) map[*Code]Addr {
	m := map[*Code]Addr{}
	for addr, ci := range p.codes.byAddr {
		m[ci] = addr
	}
	return m
}

// compareThread compares the stack the walker read with the one the
// interpreter reported.
func compareThread(t *testing.T, st ThreadStack, want []reportedFrame, firstTraceable map[string]int64, addrs map[*Code]Addr) {
	t.Helper()
	if st.Dropped || len(st.Frames) != len(want) {
		t.Errorf("thread %d: read %s (dropped %v), the interpreter reports %d frames: %+v",
			st.TID, stackString(st.Frames), st.Dropped, len(want), want)
		return
	}
	for i, f := range st.Frames {
		w := want[i]
		got := reportedFrame{f.Code.Filename, f.Code.Qualname, f.Code.FirstLine, f.Line, addrs[f.Code]}
		if got != w {
			t.Errorf("thread %d frame %d: read %+v, the interpreter reports %+v", st.TID, i, got, w)
		}
		ft, ok := firstTraceable[strconv.FormatUint(uint64(w.code), 10)]
		if !ok || int64(f.Code.key.firstTraceable) != ft {
			t.Errorf("thread %d frame %d (%s): first traceable unit %d, its first RESUME is at %d",
				st.TID, i, w.qualname, f.Code.key.firstTraceable, ft)
		}
	}
}

// checkStackTops checks that each thread state's datastack_top points into
// its datastack_chunk, past the chunk's header and before its end: the
// walker copies the chunk up to there.
func checkStackTops(t *testing.T, p *Process) {
	t.Helper()
	l := &p.lay
	var b [8]byte
	if err := p.mem.read(p.runtime+Addr(l.runtimeInterpHead), b[:]); err != nil {
		t.Fatal(err)
	}
	ih := make([]byte, l.interpSize())
	if err := p.mem.read(ptr(b[:], 0), ih); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, l.threadStateSize())
	n := 0
	for ts := ptr(ih, l.interpThreads); ts != 0; ts = ptr(hdr, l.tsNext) {
		if err := p.mem.read(ts, hdr); err != nil {
			t.Fatal(err)
		}
		chunk, top := ptr(hdr, l.tsChunk), ptr(hdr, l.tsTop)
		var ch [chunkData]byte
		if err := p.mem.read(chunk, ch[:]); err != nil {
			t.Fatalf("thread state %#x: chunk %#x: %v", ts, chunk, err)
		}
		// datastack_limit, the field after datastack_top, is the chunk's
		// end, which the stack of a parked thread does not reach.
		if size := Addr(u64(ch[:], chunkSize)); top <= chunk+chunkData || top >= chunk+size {
			t.Errorf("thread state %#x: datastack_top %#x not inside its chunk (%#x, %#x)", ts, top, chunk+chunkData, chunk+size)
		}
		n++
	}
	if n < 6 {
		t.Errorf("%d thread states, want the main thread and five parked ones", n)
	}
}
