package sample

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

// want describes an expected frame: its qualname and the line it executes
// (for a caller, the line of the call).
type want struct {
	qualname string
	line     int
}

func (w want) String() string { return fmt.Sprintf("%s:%d", w.qualname, w.line) }

// stackString formats frames like want lists, root first.
func stackString(frames []Frame) string {
	var parts []string
	for _, f := range frames {
		parts = append(parts, want{f.Code.Qualname, f.Line}.String())
	}
	return strings.Join(parts, " > ")
}

func wantString(ws []want) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, w.String())
	}
	return strings.Join(parts, " > ")
}

// sampleN takes n snapshots a few milliseconds apart.
func sampleN(t *testing.T, p *Process, n int) []*Snapshot {
	t.Helper()
	var out []*Snapshot
	for range n {
		s, err := p.Sample()
		if err != nil {
			t.Fatalf("Sample: %v", err)
		}
		out = append(out, s)
		time.Sleep(3 * time.Millisecond)
	}
	return out
}

// waitUntil samples p until cond holds, for at most 10 seconds.
func waitUntil(t *testing.T, p *Process, cond func(*Snapshot) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s, err := p.Sample()
		if err != nil {
			t.Fatalf("Sample: %v", err)
		}
		if cond(s) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("target did not reach the expected state in 10s")
}

// waitForLeaf samples p until thread tid's newest frame runs qualname.
func waitForLeaf(t *testing.T, p *Process, tid int64, qualname string) {
	t.Helper()
	waitUntil(t, p, func(s *Snapshot) bool {
		st := threadOf(t, s, tid)
		return len(st.Frames) > 0 && st.Frames[len(st.Frames)-1].Code.Qualname == qualname
	})
}

// threadOf returns the stack of thread tid in s.
func threadOf(t *testing.T, s *Snapshot, tid int64) ThreadStack {
	t.Helper()
	for _, th := range s.Threads {
		if th.TID == tid {
			return th
		}
	}
	t.Fatalf("thread %d not in sample (threads: %+v)", tid, s.Threads)
	return ThreadStack{}
}

// sampleThread samples p once and returns the stack of thread tid; false
// when the thread list moved while read (the caller samples again).
func sampleThread(t *testing.T, p *Process, tid int64) (ThreadStack, bool) {
	t.Helper()
	s, err := p.Sample()
	if errors.Is(err, ErrInconsistent) {
		return ThreadStack{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return threadOf(t, s, tid), true
}

// checkStack fails unless st's frames are exactly ws, all in file.
func checkStack(t *testing.T, st ThreadStack, file string, ws []want) {
	t.Helper()
	if st.Dropped {
		t.Errorf("thread %d: stack dropped", st.TID)
		return
	}
	if got, exp := stackString(st.Frames), wantString(ws); got != exp {
		t.Errorf("thread %d stack:\n got %s\nwant %s", st.TID, got, exp)
		return
	}
	for _, f := range st.Frames {
		if file != "" && f.Code.Filename != file {
			t.Errorf("frame %s: file %q, want %q", f.Code.Qualname, f.Code.Filename, file)
		}
	}
}

// fraction returns the share of snapshots of thread tid for which pred
// holds.
func fraction(t *testing.T, snaps []*Snapshot, tid int64, pred func(ThreadStack) bool) float64 {
	t.Helper()
	n := 0
	for _, s := range snaps {
		if pred(threadOf(t, s, tid)) {
			n++
		}
	}
	return float64(n) / float64(len(snaps))
}

func TestBusyNested(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "busy.py")
		tg := startTarget(t, py, "busy.py")
		p := attach(t, tg)
		waitForLeaf(t, p, int64(tg.pid), "leaf")
		snaps := sampleN(t, p, 20)
		tid := int64(tg.pid)
		ws := []want{{"<module>", m["busy_main"]}, {"outer", m["busy_outer"]},
			{"middle", m["busy_middle"]}, {"leaf", m["busy_leaf"]}}
		for _, s := range snaps {
			checkStack(t, threadOf(t, s, tid), scriptPath(t, "busy.py"), ws)
		}
		if f := fraction(t, snaps, tid, func(s ThreadStack) bool { return s.OnCPU }); f < 0.7 {
			t.Errorf("busy thread on CPU in %.0f%% of samples, want >= 70%%", f*100)
		}
		if f := fraction(t, snaps, tid, func(s ThreadStack) bool { return s.HasGIL }); f < 0.9 {
			t.Errorf("busy thread held the GIL in %.0f%% of samples, want >= 90%%", f*100)
		}
	})
}

func TestSleeping(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "sleeping.py")
		tg := startTarget(t, py, "sleeping.py")
		p := attach(t, tg)
		waitForLeaf(t, p, int64(tg.pid), "sleeper")
		snaps := sampleN(t, p, 10)
		tid := int64(tg.pid)
		ws := []want{{"<module>", m["sleep_main"]}, {"sleeper", m["sleep_leaf"]}}
		for _, s := range snaps {
			st := threadOf(t, s, tid)
			checkStack(t, st, scriptPath(t, "sleeping.py"), ws)
			if st.OnCPU || st.HasGIL {
				t.Errorf("sleeping thread: OnCPU %v HasGIL %v, want both false", st.OnCPU, st.HasGIL)
			}
		}
	})
}

// threadIDs parses the "tid NAME ID" lines threads.py prints.
func threadIDs(t *testing.T, lines []string) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, l := range lines {
		var name string
		var id int64
		if _, err := fmt.Sscanf(l, "tid %s %d", &name, &id); err == nil {
			ids[name] = id
		}
	}
	if len(ids) != 3 {
		t.Fatalf("thread ids %v from %q, want 3", ids, lines)
	}
	return ids
}

func TestThreads(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "threads.py")
		tg := startTarget(t, py, "threads.py")
		ids := threadIDs(t, tg.lines)
		p := attach(t, tg)
		// The main thread needs the GIL, which the busy worker holds, to
		// get from print("ready") into join.
		waitUntil(t, p, func(s *Snapshot) bool {
			st := threadOf(t, s, ids["MainThread"])
			return len(st.Frames) > 1 && st.Frames[1].Code.Qualname == "Thread.join"
		})
		snaps := sampleN(t, p, 20)
		file := scriptPath(t, "threads.py")
		for _, s := range snaps {
			if len(s.Threads) != 3 {
				t.Fatalf("%d threads sampled, want 3: %+v", len(s.Threads), s.Threads)
			}
			busy := threadOf(t, s, ids["worker-busy"])
			checkTail(t, busy, file, []want{{"busy_worker", m["thread_busy_call"]}, {"spin", m["thread_spin"]}})
			sleepy := threadOf(t, s, ids["worker-sleepy"])
			checkTail(t, sleepy, file, []want{{"sleepy_worker", m["thread_sleepy_call"]}, {"nap", m["thread_nap"]}})
			if sleepy.OnCPU || sleepy.HasGIL {
				t.Errorf("sleeping worker: OnCPU %v HasGIL %v", sleepy.OnCPU, sleepy.HasGIL)
			}
			main := threadOf(t, s, ids["MainThread"])
			if len(main.Frames) < 2 || main.Frames[1].Code.Qualname != "Thread.join" {
				t.Errorf("main thread: %s, want <module>:%d > Thread.join > ...", stackString(main.Frames), m["thread_main_join"])
			} else {
				checkStack(t, ThreadStack{Frames: main.Frames[:1]}, file, []want{{"<module>", m["thread_main_join"]}})
			}
		}
		// The main thread waits in join, not holding the GIL, but a read
		// can catch a moment it does: the GIL's holder field is written
		// after its lock word when a thread takes it, and a loaded machine
		// widens that window. Most samples must see another holder.
		if f := fraction(t, snaps, ids["MainThread"], func(s ThreadStack) bool { return s.HasGIL }); f > 0.15 {
			t.Errorf("joining main thread held the GIL in %.0f%% of samples, want at most 15%%", f*100)
		}
		busy := ids["worker-busy"]
		if f := fraction(t, snaps, busy, func(s ThreadStack) bool { return s.HasGIL }); f < 0.8 {
			t.Errorf("busy worker held the GIL in %.0f%% of samples, want >= 80%%", f*100)
		}
		if f := fraction(t, snaps, busy, func(s ThreadStack) bool { return s.OnCPU }); f < 0.7 {
			t.Errorf("busy worker on CPU in %.0f%% of samples, want >= 70%%", f*100)
		}
	})
}

// checkTail checks the innermost frames of st: a thread's outer frames are
// threading's (Thread._bootstrap and friends).
func checkTail(t *testing.T, st ThreadStack, file string, ws []want) {
	t.Helper()
	if len(st.Frames) < len(ws) {
		t.Errorf("thread %d: %s, want it to end with %s", st.TID, stackString(st.Frames), wantString(ws))
		return
	}
	tail := st
	tail.Frames = st.Frames[len(st.Frames)-len(ws):]
	checkStack(t, tail, file, ws)
	if root := st.Frames[0].Code; root.Qualname != "Thread._bootstrap" || !strings.HasSuffix(root.Filename, "/threading.py") {
		t.Errorf("thread %d root frame %s in %s, want Thread._bootstrap in threading.py", st.TID, root.Qualname, root.Filename)
	}
}

func TestUnicodeNames(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		const script = "unicode_🐍_名前.py"
		m := markers(t, script)
		tg := startTarget(t, py, script)
		p := attach(t, tg)
		waitForLeaf(t, p, int64(tg.pid), "Café.naïve")
		ws := []want{{"<module>", m["uni_main"]}, {"名前", m["uni_call"]}, {"Café.naïve", m["uni_leaf"]}}
		for _, s := range sampleN(t, p, 5) {
			checkStack(t, threadOf(t, s, int64(tg.pid)), scriptPath(t, script), ws)
		}
	})
}

func TestDeepRecursion(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "recursion.py")
		tg := startTarget(t, py, "recursion.py")
		p := attach(t, tg)
		waitForLeaf(t, p, int64(tg.pid), "bottom")
		ws := []want{{"<module>", m["rec_main"]}}
		for range 199 {
			ws = append(ws, want{"rec", m["rec_self"]})
		}
		ws = append(ws, want{"rec", m["rec_to_bottom"]}, want{"bottom", m["rec_bottom"]})
		for _, s := range sampleN(t, p, 5) {
			checkStack(t, threadOf(t, s, int64(tg.pid)), scriptPath(t, "recursion.py"), ws)
		}
	})
}

func TestGenerator(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "generator.py")
		tg := startTarget(t, py, "generator.py")
		p := attach(t, tg)
		waitForLeaf(t, p, int64(tg.pid), "numbers")
		base := []want{{"<module>", m["gen_main"]}, {"consume", m["gen_for"]}}
		busy := append(base[:2:2], want{"numbers", m["gen_busy"]})
		inGen := 0
		for _, s := range sampleN(t, p, 20) {
			st := threadOf(t, s, int64(tg.pid))
			switch stackString(st.Frames) {
			case wantString(busy):
				inGen++
			case wantString(base), wantString(append(base[:2:2], want{"numbers", m["gen_yield"]})),
				// `while True:` and `total = 0`, run briefly between loops.
				wantString(append(base[:2:2], want{"numbers", m["gen_busy"] - 1})),
				wantString(append(base[:2:2], want{"numbers", m["gen_busy"] - 2})):
			default:
				t.Errorf("stack %s, want %s", stackString(st.Frames), wantString(busy))
			}
		}
		if inGen < 15 {
			t.Errorf("%d of 20 samples in the generator's loop, want >= 15", inGen)
		}
	})
}

// possibleChurn reports why frames cannot be a stack of churn.py, or "".
// Callers must be at their call lines; the newest frame may be anywhere in
// its function.
func possibleChurn(frames []Frame, m map[string]int) string {
	if len(frames) < 2 {
		return "" // starting up or finishing
	}
	callLine := map[string]int{"<module>": m["churn_main"], "churn": m["churn_call"]}
	for i, f := range frames {
		q := f.Code.Qualname
		switch {
		case i == 0 && q != "<module>", i == 1 && q != "churn":
			return fmt.Sprintf("frame %d is %s", i, q)
		case i >= 2 && q != "rec" && (q != "leaf_a" && q != "leaf_b" || i != len(frames)-1 || frames[i-1].Code.Qualname != "rec"):
			return fmt.Sprintf("frame %d is %s", i, q)
		case i > 32:
			return "deeper than the recursion goes"
		}
		if i == len(frames)-1 {
			break
		}
		want := callLine[q]
		if q == "rec" {
			want = m["churn_rec"]
			if next := frames[i+1].Code.Qualname; next != "rec" {
				want = m["churn_leaf"]
			}
		}
		if f.Line != want {
			return fmt.Sprintf("frame %d (%s) at line %d calling %s, want %d", i, q, f.Line, frames[i+1].Code.Qualname, want)
		}
	}
	return ""
}

// TestNoImpossibleStacks samples a stack that changes all the time and
// checks that every stack returned did exist: stacks read while the target
// moved are read again or dropped, never returned mixed.
func TestNoImpossibleStacks(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "churn.py")
		tg := startTarget(t, py, "churn.py")
		p := attach(t, tg)
		n, dropped, outer, outerDepth, deep := 0, 0, 0, 0, 0
		// Sample for a second, and on for up to ten while no deep stack has
		// come through: deep stacks take longest to read and are the ones
		// the target most often moves under, so on a slow or busy machine
		// (or under -race) most of them are dropped.
		start := time.Now()
		for time.Since(start) < time.Second || (n < 100 || deep == 0) && time.Since(start) < 10*time.Second {
			st, ok := sampleThread(t, p, int64(tg.pid))
			if !ok {
				continue
			}
			n++
			if st.Dropped {
				// The outer frames kept from a stack that moved must be
				// possible too.
				dropped++
				if len(st.Frames) > 0 {
					outer++
					outerDepth += len(st.Frames)
					if why := possibleChurn(st.Frames, m); why != "" {
						t.Errorf("impossible outer frames: %s\n%s", why, stackString(st.Frames))
					}
				}
				continue
			}
			if why := possibleChurn(st.Frames, m); why != "" {
				t.Errorf("impossible stack: %s\n%s", why, stackString(st.Frames))
			}
			if len(st.Frames) > 20 {
				deep++
			}
		}
		t.Logf("%d samples, %d dropped (%d with outer frames kept, %.1f frames on average), %d deeper than 20 frames",
			n, dropped, outer, float64(outerDepth)/float64(max(outer, 1)), deep)
		// <module> and churn never move: a stack that moved above them
		// keeps them at least, unless it moved while they were read too,
		// which is rare. (3.14 clears the code of each frame that returns;
		// reading such a code object failed the second read of the stack,
		// so that 40% of its dropped stacks lost their outer frames.)
		if dropped >= 100 && outer*10 < dropped*9 {
			t.Errorf("%d of %d dropped stacks kept their outer frames, want 90%% or more", outer, dropped)
		}
		if n < 100 || deep == 0 {
			t.Errorf("%d samples, %d deep: the test saw too little", n, deep)
		}
	})
}

// TestCallSites samples callsites.py, whose stack stands still in leaf at
// the end of every kind of call, plain and under sys.setprofile and
// sys.settrace (instrumented bytecode). Every caller is suspended in its
// call there, so the check that callers are (checkCaller) must let each of
// these stacks through: a kind of call it did not know would have all its
// stacks dropped. Callers must be at their marked call lines.
func TestCallSites(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "callsites.py")
		callLines := map[int]bool{}
		kinds := map[int]string{} // run_all's call line -> kind
		for name, line := range m {
			if strings.HasPrefix(name, "k_") {
				kinds[line] = name
			}
			callLines[line] = name != "leaf"
		}
		for _, mode := range []string{"plain", "profile", "trace"} {
			t.Run(mode, func(t *testing.T) {
				tg := startTarget(t, py, "callsites.py", mode)
				p := attach(t, tg)
				seen := map[int]int{} // stacks in leaf per run_all call line
				n, dropped := 0, 0
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !allSeen(seen, kinds, 5); {
					time.Sleep(200 * time.Microsecond)
					st, ok := sampleThread(t, p, int64(tg.pid))
					if !ok {
						continue
					}
					n++
					if st.Dropped {
						dropped++
						continue
					}
					fs := st.Frames
					if len(fs) < 3 || fs[len(fs)-1].Code.Qualname != "leaf" {
						continue // between calls, or in the trace or profile function
					}
					for _, f := range fs[:len(fs)-1] {
						if !callLines[f.Line] {
							t.Errorf("%s at line %d, not a call line: %s", f.Code.Qualname, f.Line, stackString(fs))
						}
					}
					seen[fs[1].Line]++
				}
				for line, kind := range kinds {
					if seen[line] < 5 {
						t.Errorf("%s: %d stacks in leaf, want 5 or more", kind, seen[line])
					}
				}
				t.Logf("%d samples, %d dropped", n, dropped)
				if dropped*50 > n {
					t.Errorf("%d of %d samples dropped: stable stacks must be read", dropped, n)
				}
			})
		}
	})
}

// allSeen reports whether every kind of call was seen atLeast times.
func allSeen(seen map[int]int, kinds map[int]string, atLeast int) bool {
	for line := range kinds {
		if seen[line] < atLeast {
			return false
		}
	}
	return true
}

// TestMayHaveCallee checks the test that trims the outer frames of a
// dropped stack: a dead frame (returned, stopped at its return) above a
// live caller must not be kept as where the program was.
func TestMayHaveCallee(t *testing.T) {
	p := &Process{lay: layout{coCode: 200}}
	const code = Addr(0x1000)
	p.scratch.infos = []*Code{{calls: callSites{bits: []uint64{1 << 5}, from: 100}}, nil}
	at := func(unit int) Addr { return code + 200 + Addr(2*unit) }
	tests := []struct {
		name string
		f    rawFrame
		want bool
	}{
		{"at a call", rawFrame{code: code, instr: at(5)}, true},
		{"at its return", rawFrame{code: code, instr: at(7)}, false},
		{"past the units sized", rawFrame{code: code, instr: at(120)}, true},
		{"not started", rawFrame{code: code, instr: at(-1)}, false},
		{"code unknown", rawFrame{code: code, instr: at(5), codeIdx: 1}, false},
		{"returned, code cleared (3.14)", rawFrame{instr: at(5), codeIdx: noCode}, false},
		{"entry frame of the C stack", rawFrame{owner: ownedByCStack, codeIdx: noCode}, true},
		{"owned by the C stack (3.14)", rawFrame{owner: ownedByCStack314, codeIdx: noCode}, true},
	}
	for _, tt := range tests {
		if got := p.mayHaveCallee(tt.f); got != tt.want {
			t.Errorf("%s: mayHaveCallee = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCheckCallersThroughC checks a frame of the thread's data stack with
// native code above it and, above that, a generator's frame read on its
// own or nothing (the newest frame moved back to it while it was read):
// the generator is only its callee if it is in a call. A copy of a frame
// that returned can be of another call at the same address than the
// frames read above it. A dropped stack keeps no frame above such a frame
// not in a call.
func TestCheckCallersThroughC(t *testing.T) {
	const code = Addr(0x1000)
	at := func(unit int) Addr { return code + 200 + Addr(2*unit) }
	// A CALL at units 4-7 of a 3.12 code object: a Python callee is
	// pushed from unit 7, native code is called from unit 4.
	calls := callSites{bits: []uint64{1 << 7}, starts: []uint64{1 << 4}, from: 100}
	gen := rawFrame{owner: ownedByGenerator, code: code, instr: at(7)}
	entry := rawFrame{owner: ownedByCStack, codeIdx: noCode}
	thread := rawFrame{owner: ownedByThread, code: code, instr: at(7)}
	tests := []struct {
		name    string
		raw     []rawFrame // newest first, raw[2] is checked
		movedTo int
		wantErr bool
	}{
		{"calling native code", []rawFrame{gen, entry, {code: code, instr: at(4)}}, 0, false},
		{"at a Python call site", []rawFrame{gen, entry, {code: code, instr: at(7)}}, 0, false},
		{"at its return", []rawFrame{gen, entry, {code: code, instr: at(9)}}, 0, true},
		{"inside the call's caches", []rawFrame{gen, entry, {code: code, instr: at(5)}}, 0, true},
		{"moved back to it, at its return", []rawFrame{thread, entry, {code: code, instr: at(9)}}, 2, true},
		{"a frame of the data stack above: the same copy", []rawFrame{thread, entry, {code: code, instr: at(9)}}, 0, false},
		{"a Python callee: checked by checkCaller", []rawFrame{entry, gen, {code: code, instr: at(9)}}, 0, false},
	}
	for _, tt := range tests {
		p := &Process{lay: layout{coCode: 200}}
		p.scratch.infos = []*Code{{calls: calls}}
		p.scratch.raw = tt.raw
		p.scratch.movedTo = tt.movedTo
		err := p.checkCallersThroughC()
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: checkCallersThroughC = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInconsistent) {
			t.Errorf("%s: %v is not ErrInconsistent", tt.name, err)
		}
		// A dropped stack whose frames read the same twice: the frames
		// kept are those outerFrames can vouch for.
		p.scratch.raw = append(tt.raw, rawFrame{code: code, instr: at(7)}) // its caller
		wantKept := 4
		if tt.wantErr {
			wantKept = 1 // the caller: the checked frame is at no call site
		}
		if got := len(p.keptOuter(0)); got != wantKept {
			t.Errorf("%s: %d outer frames kept, want %d", tt.name, got, wantKept)
		}
	}
}

// TestRecursionPastMaxDepth: a stack deeper than MaxDepth is a real one,
// not memory that moved: the sampler keeps its newest MaxDepth frames,
// says it cut the others, and the profile puts them under the cut marker.
func TestRecursionPastMaxDepth(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		tg := startTarget(t, py, "recursion.py", strconv.Itoa(MaxDepth+500))
		p := attach(t, tg)
		waitForLeaf(t, p, int64(tg.pid), "bottom")
		s := sampleN(t, p, 1)[0]
		st := threadOf(t, s, int64(tg.pid))
		if !st.Cut || st.Dropped || len(st.Frames) != MaxDepth {
			t.Fatalf("cut %v, dropped %v, %d frames; want the newest %d frames, cut", st.Cut, st.Dropped, len(st.Frames), MaxDepth)
		}
		if first, last := st.Frames[0].Code.Qualname, st.Frames[MaxDepth-1].Code.Qualname; first != "rec" || last != "bottom" {
			t.Errorf("frames run from %s to %s; want rec to bottom", first, last)
		}
		b := NewBuilder(Options{Rate: 100, Idle: true})
		b.Add(int64(tg.pid), s)
		prof := b.Profile()
		for _, th := range prof.Threads {
			for _, top := range th.Root.Children {
				if name := prof.Funcs[top.Func].Name; name != callgraph.CutMarker(MaxDepth) {
					t.Errorf("a path starts at %s, not at the cut marker", name)
				}
			}
		}
	})
}

// TestLoopingChainCaughtEarly: frames read while the stack moved can link
// back to one another. Such a chain is dropped after a few frames, not
// walked to MaxDepth one read per frame: 32,768 reads took a sample of a
// loaded machine past a second, and the samples of that time were lost.
func TestLoopingChainCaughtEarly(t *testing.T) {
	lay := layout312
	size := int(lay.frameHeaderSize())
	// A chain of 40 frames whose oldest links back to the tenth.
	frames := make([][]byte, 40)
	for i := range frames {
		frames[i] = make([]byte, size)
	}
	heapSink = frames
	for i := range frames {
		prev := frames[9]
		if i+1 < len(frames) {
			prev = frames[i+1]
		}
		binary.LittleEndian.PutUint64(frames[i][lay.frPrevious:], uint64(addrOf(prev)))
	}
	p := &Process{pid: os.Getpid(), lay: lay, mem: &memReader{pid: os.Getpid()}}
	before := p.mem.calls.Load()
	err := p.collectFrames(addrOf(frames[0]))
	if !errors.Is(err, ErrInconsistent) {
		t.Fatalf("err %v, want ErrInconsistent", err)
	}
	if reads := p.mem.calls.Load() - before; reads > 4*int64(len(frames)) {
		t.Errorf("%d reads to find a loop of %d frames", reads, len(frames))
	}
}

// TestStacksThroughGenerators samples a thread whose newest frame comes
// and goes through C code all the time (sum over a generator expression)
// and checks that every stack returned is possible: the generator's frame
// read between two resumptions, its link to its caller cleared, once came
// back as a stack of that frame alone (in about 1% of samples, on every
// version). Most stacks must be read, not dropped as moving.
func TestStacksThroughGenerators(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "genexprs.py")
		tg := startTarget(t, py, "genexprs.py")
		p := attach(t, tg)
		n, dropped, inGenexpr := 0, 0, 0
		for start := time.Now(); time.Since(start) < time.Second || n < 200; {
			st, ok := sampleThread(t, p, int64(tg.pid))
			if !ok {
				continue
			}
			n++
			if st.Dropped {
				dropped++
				continue
			}
			if why := possibleGenexprStack(st.Frames, m); why != "" {
				t.Errorf("impossible stack: %s\n%s", why, stackString(st.Frames))
			}
			if len(st.Frames) == 3 {
				inGenexpr++
			}
		}
		t.Logf("%d samples, %d dropped, %d in the generator expression", n, dropped, inGenexpr)
		// Dropped stacks come and go with the machine's load (2-22% here);
		// most must be read, or the check on the chain's end took them all.
		if dropped*2 > n {
			t.Errorf("%d of %d stacks dropped as moving, want under half", dropped, n)
		}
		if inGenexpr == 0 {
			t.Errorf("no sample in the generator expression")
		}
	})
}

// possibleGenexprStack says what is wrong with a stack of genexprs.py, ""
// if nothing.
func possibleGenexprStack(frames []Frame, m map[string]int) string {
	want := []string{"<module>", "work", "work.<locals>.<genexpr>"}
	lines := []int{m["gen_main"], m["gen_sum"]}
	if len(frames) == 1 && frames[0].Code.Qualname == "<module>" {
		return "" // starting up
	}
	if len(frames) < 2 || len(frames) > 3 {
		return fmt.Sprintf("%d frames", len(frames))
	}
	for i, f := range frames {
		if f.Code.Qualname != want[i] {
			return fmt.Sprintf("frame %d is %s", i, f.Code.Qualname)
		}
		if i < len(lines) && i < len(frames)-1 && f.Line != lines[i] {
			return fmt.Sprintf("frame %d (%s) at line %d, want %d", i, f.Code.Qualname, f.Line, lines[i])
		}
	}
	return ""
}

// TestStacksOfResumedGenerators samples a loop that resumes generators
// through next() all the time. Every stack read must be possible, and a
// stack dropped as moving keeps the outer frames that stood still in the
// best of its reads: before, most such samples were charged to no frame at
// all, so that most of the program's time sat under a lone marker.
func TestStacksOfResumedGenerators(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		m := markers(t, "genloop.py")
		tg := startTarget(t, py, "genloop.py")
		p := attach(t, tg)
		n, dropped, outer := 0, 0, 0
		for start := time.Now(); time.Since(start) < time.Second || dropped < 50 && time.Since(start) < 10*time.Second; {
			time.Sleep(time.Millisecond) // sampled as the sampler does, not back to back
			st, ok := sampleThread(t, p, int64(tg.pid))
			if !ok {
				continue
			}
			n++
			if st.Dropped {
				dropped++
				if len(st.Frames) > 0 {
					outer++
				}
			}
			if why := possibleGenloopStack(st.Frames, m); why != "" {
				t.Errorf("impossible stack (dropped %v): %s\n%s", st.Dropped, why, stackString(st.Frames))
			}
		}
		t.Logf("%d samples, %d dropped, %d of them with outer frames", n, dropped, outer)
		if dropped >= 50 && outer*2 < dropped {
			t.Errorf("%d of %d dropped stacks kept outer frames, want half or more", outer, dropped)
		}
	})
}

// possibleGenloopStack says what is wrong with a stack of genloop.py, ""
// if nothing: <module>, main, resume, gen, leaf, each frame calling the
// next from its marked line, cut anywhere.
func possibleGenloopStack(frames []Frame, m map[string]int) string {
	want := []string{"<module>", "main", "resume", "gen", "leaf"}
	lines := []int{m["module_main"], m["main_resume"], m["resume_next"], m["gen_leaf"]}
	if len(frames) > len(want) {
		return fmt.Sprintf("%d frames", len(frames))
	}
	for i, f := range frames {
		if f.Code.Qualname != want[i] {
			return fmt.Sprintf("frame %d is %s", i, f.Code.Qualname)
		}
		if i < len(frames)-1 && f.Line != lines[i] {
			return fmt.Sprintf("frame %d (%s) at line %d, want %d", i, f.Code.Qualname, f.Line, lines[i])
		}
	}
	return ""
}
