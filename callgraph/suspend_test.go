package callgraph

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// newAsyncFixture defines asyncio's loop frames, the crawler's coroutines
// and the natives between them, the way CPython 3.12 names them.
func newAsyncFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{b: NewBuilder(), codes: map[string]CodeID{}, natives: map[string]NativeID{}}
	const lib = "/usr/lib/python3.12/asyncio/"
	for i, c := range []struct{ name, file, qualname string }{
		{"module", "/app/crawler.py", "<module>"},
		{"run", lib + "runners.py", "run"},
		{"run_once", lib + "base_events.py", "BaseEventLoop._run_once"},
		{"handle_run", lib + "events.py", "Handle._run"},
		{"sleep", lib + "tasks.py", "sleep"},
		{"main", "/app/crawler.py", "main"},
		{"fetch", "/app/crawler.py", "fetch"},
		{"parse", "/app/crawler.py", "parse"},
		{"gen", "/app/crawler.py", "gen"},
		{"accept_connection", lib + "selector_events.py", "BaseSelectorEventLoop._accept_connection"},
		{"socket_accept", "/usr/lib/python3.12/socket.py", "socket.accept"},
		{"callback", "/app/crawler.py", "on_timer"},
		{"task_step", lib + "tasks.py", "Task.__step"},
	} {
		id := CodeID(i + 1)
		first := 10 * (i + 1)
		code := &Code{Qualname: c.qualname, Filename: c.file, FirstLine: first}
		for off := uint32(0); off < 100; off += 10 {
			code.Lines = append(code.Lines, LineRange{Start: off, Line: int32(first + int(off)/10)})
		}
		f.b.DefineCode(id, code)
		f.codes[c.name] = id
	}
	for i, name := range []string{"Context.run", "select.epoll.poll", "_asyncio.Task"} {
		f.b.DefineNative(NativeID(i+1), name)
		f.natives[name] = NativeID(i + 1)
	}
	return f
}

// step runs one task step the way asyncio's loop does: Handle._run calls
// Context.run, which (in C) resumes the task's coroutine.
func step(at int, body ...string) []string {
	s := []string{fmt.Sprintf("start handle_run @%d", at), fmt.Sprintf("call Context.run @%d", at)}
	s = append(s, body...)
	end := at
	if len(body) > 0 {
		fmt.Sscanf(body[len(body)-1][strings.LastIndex(body[len(body)-1], "@")+1:], "%d", &end)
	}
	return append(s, fmt.Sprintf("creturn Context.run @%d", end), fmt.Sprintf("return handle_run @%d", end))
}

// renderAwait prints a thread's tree with calls, wall and await time.
func renderAwait(p *Profile, th *Thread) string {
	var b strings.Builder
	th.Root.Walk(func(path []*Node) {
		n := path[len(path)-1]
		fmt.Fprintf(&b, "%s%s:%d calls=%d wall=%d await=%d\n", strings.Repeat("  ", len(path)-1),
			p.Funcs[n.Func].Name, n.CallLine, n.Total[Calls], n.Total[Wall], n.Total[Await])
	})
	return b.String()
}

func TestBuilderAsyncio(t *testing.T) {
	// crawler.py: asyncio.run(main()) at line 11 of the module; main
	// makes two fetch tasks and awaits them; each fetch awaits
	// asyncio.sleep, then parses.
	var events script
	add := func(s ...string) { events = append(events, s...) }
	add("start module @0", "start run 12 @1", "start run_once @2")
	add(step(3, "start main @4", "yield main @6")...) // main awaits gather()
	add(step(7, "start fetch @8", "start sleep 3 @9", "yield sleep @10", "yield fetch @10")...)
	add(step(11, "start fetch @12", "start sleep 3 @13", "yield sleep @14", "yield fetch @14")...)
	add("return run_once @15", "start run_once @15", "call select.epoll.poll @16", "creturn select.epoll.poll @100")
	add(step(101, "resume fetch @102", "resume sleep @102", "return sleep @103", "start parse 5 @103",
		"return parse @104", "return fetch @105")...)
	add(step(106, "resume fetch @107", "resume sleep @107", "return sleep @108", "start parse 5 @108",
		"return parse @109", "return fetch @110")...)
	add(step(111, "resume main @112", "return main @113")...)
	add("return run_once @114", "return run @115", "return module @116")

	f := newAsyncFixture(t)
	f.run(t, 1, events)
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	// The tasks stand under the line that started the loop, not under
	// the loop's frames; each fetch counts once; the sleeps' awaits
	// (102-10, 107-14) are theirs and their fetches', main's (112-6) its
	// own, and the module's all of theirs; the loop's frames do not count
	// the tasks' steps (run: 114 ticks less main's 3 and the fetches' 10).
	want := `crawler.<module>:0 calls=1 wall=116 await=291
  asyncio.runners.run:11 calls=1 wall=101 await=0
    asyncio.base_events.BaseEventLoop._run_once:0 calls=2 wall=99 await=0
      asyncio.events.Handle._run:0 calls=6 wall=6 await=0
        Context.run:0 calls=6 wall=6 await=0
      select.epoll.poll:0 calls=1 wall=84 await=0
  crawler.main:11 calls=1 wall=3 await=106
  crawler.fetch:11 calls=2 wall=10 await=185
    asyncio.tasks.sleep:70 calls=2 wall=4 await=185
    crawler.parse:70 calls=2 wall=2 await=0
`
	if got := renderAwait(p, p.Threads[0]); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	if !p.Has(Await) {
		t.Errorf("values %v lack await", p.Values)
	}
}

// TestBuilderLoopCallbacks: what Handle._run calls, through a Task's own
// steps at most, is a task's step or a callback and goes under the frame
// that started the loop; what asyncio's own callbacks call (the socket's
// accept under _accept_connection) stays under them, in the loop's frames.
func TestBuilderLoopCallbacks(t *testing.T) {
	var events script
	add := func(s ...string) { events = append(events, s...) }
	add("start module @0", "start run 12 @1", "start run_once @2")
	add(step(3, "start accept_connection @4", "start socket_accept 3 @5", "return socket_accept @6",
		"return accept_connection @7")...)
	add(step(8, "start callback @9", "return callback @10")...)
	add(step(11, "start task_step @12", "start fetch @13", "return fetch @14", "return task_step @15")...)
	add("return run_once @16", "return run @17", "return module @18")
	f := newAsyncFixture(t)
	f.run(t, 1, events)
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	// The loop's frames keep all but the callback's and the task's
	// step (run: 16 ticks less 2).
	want := `crawler.<module>:0 calls=1 wall=18 await=0
  asyncio.runners.run:11 calls=1 wall=14 await=0
    asyncio.base_events.BaseEventLoop._run_once:0 calls=1 wall=12 await=0
      asyncio.events.Handle._run:0 calls=3 wall=8 await=0
        Context.run:0 calls=3 wall=8 await=0
          asyncio.selector_events.BaseSelectorEventLoop._accept_connection:0 calls=1 wall=3 await=0
            socket.socket.accept:100 calls=1 wall=1 await=0
          asyncio.tasks.Task.__step:0 calls=1 wall=2 await=0
  crawler.on_timer:11 calls=1 wall=1 await=0
  crawler.fetch:11 calls=1 wall=1 await=0
`
	if got := renderAwait(p, p.Threads[0]); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

// TestBuilderResumptions checks that a resumed frame is never a call of
// its own, however it comes back.
func TestBuilderResumptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events script
		want   string
	}{
		{
			name: "a generator iterated by a native call",
			events: script{"start main @0", "call Context.run 3 @1", "start gen @1", "yield gen @2",
				"resume gen @3", "yield gen @4", "resume gen @5", "return gen @6", "creturn Context.run @6",
				"return main @7"},
			want: `crawler.main:0 calls=1 wall=7 await=0
  Context.run:60 calls=1 wall=5 await=0
    crawler.gen:0 calls=1 wall=3 await=0
`,
		},
		{
			name: "a generator handed up to its caller's caller",
			events: script{"start main @0", "start fetch 3 @0", "start gen 4 @1", "yield gen @2", "return fetch @3",
				"resume gen @5", "return gen @6", "return main @8"},
			// fetch ended at 3: its wall takes gen's later run too, so
			// that no node holds more than its parent.
			want: `crawler.main:0 calls=1 wall=8 await=0
  crawler.fetch:60 calls=1 wall=4 await=0
    crawler.gen:70 calls=1 wall=2 await=0
`,
		},
		{
			name: "a generator a native call left unfinished, closed when dropped",
			events: script{"start main @0", "call Context.run 3 @1", "start gen @1", "yield gen @2",
				"creturn Context.run @3", "resume gen @4", "unwind gen @6", "return main @9"},
			want: `crawler.main:0 calls=1 wall=9 await=0
  Context.run:60 calls=1 wall=4 await=0
    crawler.gen:0 calls=1 wall=3 await=0
`,
		},
		{
			// It started before recording did: sys.monitoring raised no
			// PY_START for it while recording, so it counts no call, under
			// a marker that says why.
			name: "a frame first seen resuming counts no call",
			events: script{"start main @0", "resume gen #7 @1", "yield gen #7 @2", "resume gen #7 @3", "return gen @4",
				"return main @5"},
			want: `crawler.main:0 calls=1 wall=5 await=0
  [resumed, started before recording]:0 calls=0 wall=2 await=0
    crawler.gen:0 calls=0 wall=2 await=0
`,
		},
		{
			// main makes an eager task, whose first step runs in the
			// task's creation; the loop runs its next step. fetch's second
			// run extends main's and the creation's wall, which hold it.
			name: "an eager task",
			events: append(append(append(script{"start module @0", "start run 12 @1", "start run_once @2"},
				step(3, "start main @4", "call _asyncio.Task 5 @5", "start fetch @6", "start sleep 3 @7",
					"yield sleep @8", "yield fetch @8", "creturn _asyncio.Task @9", "yield main @10")...),
				step(20, "resume fetch @21", "resume sleep @21", "return sleep @22", "return fetch @23")...),
				append(step(30, "resume main @31", "return main @32"),
					"return run_once @33", "return run @34", "return module @35")...),
			want: `crawler.<module>:0 calls=1 wall=35 await=34
  asyncio.runners.run:11 calls=1 wall=24 await=0
    asyncio.base_events.BaseEventLoop._run_once:0 calls=1 wall=22 await=0
      asyncio.events.Handle._run:0 calls=3 wall=3 await=0
        Context.run:0 calls=3 wall=3 await=0
  crawler.main:11 calls=1 wall=9 await=34
    _asyncio.Task:60 calls=1 wall=6 await=13
      crawler.fetch:0 calls=1 wall=4 await=13
        asyncio.tasks.sleep:70 calls=1 wall=2 await=13
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAsyncFixture(t)
			f.run(t, 1, tc.events)
			p := f.b.Finish(FinishOptions{NanosPerTick: 1})
			if got := renderAwait(p, p.Threads[0]); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestBuilderUnfinishedGenerators: generators left suspended for good
// (any() stopping early) are kept within a bound, on the frame that runs
// and among the orphans, and an iterated generator is still found.
func TestBuilderUnfinishedGenerators(t *testing.T) {
	f := newAsyncFixture(t)
	tb := f.b.NewThread(1)
	main, fetch, gen := f.codes["main"], f.codes["fetch"], f.codes["gen"]
	tb.EnterPython(main, SiteNone, true, 1)
	ts := int64(2)
	const n = 10 * maxKids
	for i := 0; i < n; i++ {
		tb.EnterPython(gen, 5, true, ts) // left on main
		tb.YieldPython(gen, TagNone, ts+1)
		tb.EnterPython(fetch, 5, true, ts+1) // left on fetch, which ends
		tb.EnterPython(gen, 5, true, ts+1)
		tb.YieldPython(gen, TagNone, ts+2)
		tb.LeavePython(fetch, ts+2)
		ts += 2
	}
	if k := len(tb.side[0].kids); k != maxKids {
		t.Errorf("%d suspensions kept on main, want %d", k, maxKids)
	}
	if o := tb.orphans[pythonKey(gen, 0)].untaggedOthers().live; o != maxOrphans {
		t.Errorf("%d orphans kept, want %d", o, maxOrphans)
	}
	tb.EnterPython(gen, SiteNone, false, ts) // main's newest, iterated
	tb.LeavePython(gen, ts+1)
	tb.LeavePython(main, ts+2)
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	want := fmt.Sprintf("crawler.main:0 calls=1 wall=%d await=0\n  crawler.gen:60 calls=%d wall=%d await=0\n"+
		"  crawler.fetch:60 calls=%d wall=%d await=0\n    crawler.gen:70 calls=%d wall=%d await=0\n",
		ts+1, n, n+1, n, n, n, n)
	if got := renderAwait(p, p.Threads[0]); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

// TestBuilderThrows: a throw (a task's cancellation, generator.throw and
// close) reaches a chain of suspended frames from the inside out: the
// innermost frame gets PY_THROW first, and the frame delegating to it gets
// its own event only once it has left, or none if it suspends again. The
// chain is resumed where it started, its await time charged as a
// resumption's would be.
func TestBuilderThrows(t *testing.T) {
	for _, tc := range []struct {
		name   string
		async  bool
		events script
		want   string
	}{
		{
			name:  "a task cancelled while it sleeps",
			async: true,
			events: append(append(append(script{"start module @0", "start run 12 @1", "start run_once @2"},
				step(3, "start fetch @4", "start sleep 3 @5", "yield sleep @6", "yield fetch @6")...),
				step(20, "throw sleep @21", "unwind sleep @22", "throw fetch @22", "unwind fetch @23")...),
				"return run_once @24", "return run @25", "return module @26"),
			// sleep awaited from 6 to the throw at 21.
			want: `crawler.<module>:0 calls=1 wall=26 await=15
  asyncio.runners.run:11 calls=1 wall=20 await=0
    asyncio.base_events.BaseEventLoop._run_once:0 calls=1 wall=18 await=0
      asyncio.events.Handle._run:0 calls=2 wall=2 await=0
        Context.run:0 calls=2 wall=2 await=0
  crawler.fetch:11 calls=1 wall=4 await=15
    asyncio.tasks.sleep:70 calls=1 wall=2 await=15
`,
		},
		{
			// main awaits fetch, which awaits a future, catches the
			// cancellation and awaits a sleep: main gets no event until
			// the task's next step.
			name:  "a cancelled task that awaits again",
			async: true,
			events: append(append(append(append(script{"start module @0", "start run 12 @1", "start run_once @2"},
				step(3, "start main @4", "start fetch 3 @5", "yield fetch @6", "yield main @6")...),
				step(20, "throw fetch @21", "start sleep 5 @22", "yield sleep @23", "yield fetch @23")...),
				step(30, "resume main @31", "resume fetch @31", "resume sleep @31", "return sleep @32",
					"return fetch @33", "return main @34")...),
				"return run_once @35", "return run @36", "return module @37"),
			// fetch awaited from 6 to 21, sleep from 23 to 31.
			want: `crawler.<module>:0 calls=1 wall=37 await=23
  asyncio.runners.run:11 calls=1 wall=28 await=0
    asyncio.base_events.BaseEventLoop._run_once:0 calls=1 wall=26 await=0
      asyncio.events.Handle._run:0 calls=3 wall=3 await=0
        Context.run:0 calls=3 wall=3 await=0
  crawler.main:11 calls=1 wall=7 await=23
    crawler.fetch:60 calls=1 wall=5 await=23
      asyncio.tasks.sleep:70 calls=1 wall=2 await=8
`,
		},
		{
			// inner catches what generator.throw threw into outer and
			// yields again; outer passes that on without an event.
			name: "a generator thrown into through yield from",
			events: script{"start main @0", "start outer 3 @1", "start inner 2 @2", "yield inner @3", "yield outer @3",
				"call generator.throw 12 @10", "throw inner @11", "yield inner @12", "creturn generator.throw @13",
				"resume outer @20", "resume inner @20", "return inner @21", "yield outer @22",
				"resume outer @30", "return outer @31", "return main @40"},
			want: `m.main:0 calls=1 wall=40 await=0
  m.outer:10 calls=1 wall=6 await=0
    m.inner:50 calls=1 wall=3 await=0
  generator.throw:11 calls=1 wall=2 await=0
`,
		},
		{
			name: "a generator closed through yield from",
			events: script{"start main @0", "start outer 3 @1", "start inner 2 @2", "yield inner @3", "yield outer @3",
				"call generator.throw 12 @10", "throw inner @11", "unwind inner @12", "throw outer @12",
				"unwind outer @13", "creturn generator.throw @14", "return main @20"},
			want: `m.main:0 calls=1 wall=20 await=0
  m.outer:10 calls=1 wall=4 await=0
    m.inner:50 calls=1 wall=2 await=0
  generator.throw:11 calls=1 wall=2 await=0
`,
		},
		{
			// generator.throw called on the generator outer delegates to:
			// it unwinds, and outer goes on suspended until its next().
			name: "a delegate thrown into on its own",
			events: script{"start main @0", "call builtins.next 3 @1", "start outer @1", "start inner 2 @2",
				"yield inner @3", "yield outer @3", "creturn builtins.next @4",
				"call generator.throw 12 @10", "throw inner @11", "unwind inner @12", "creturn generator.throw @13",
				"call builtins.next 22 @20", "resume outer @21", "yield outer @22", "creturn builtins.next @23",
				"return main @30"},
			// The first next() holds outer's later runs (see liveAncestor).
			want: `m.main:0 calls=1 wall=30 await=0
  builtins.next:10 calls=1 wall=6 await=0
    m.outer:0 calls=1 wall=5 await=0
      m.inner:50 calls=1 wall=2 await=0
  generator.throw:11 calls=1 wall=1 await=0
  builtins.next:12 calls=1 wall=2 await=0
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.async {
				f = newAsyncFixture(t)
			}
			tb := f.run(t, 1, tc.events)
			p := f.b.Finish(FinishOptions{NanosPerTick: 1})
			if got := renderAwait(p, p.Threads[0]); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
			if tb.Mismatched != 0 {
				t.Errorf("%d leave events matched no frame", tb.Mismatched)
			}
		})
	}
}

// TestBuilderGeneratorAcrossThreads: a generator that one thread started
// and another advances counts one call, its PY_START; on the other thread
// it runs under the next() that advanced it there, where each thread's
// share of its time is charged, below a marker saying that it was resumed
// from another thread, not called there. The thread it left keeps no
// suspension of it: another generator of the same function, suspended
// there too, resumes there in its own node.
func TestBuilderGeneratorAcrossThreads(t *testing.T) {
	f := newFixture(t)
	a := f.b.NewThread(1)
	b := f.b.NewThread(2)
	f.runOn(t, a, script{"start main @0", "call builtins.next 3 @1", "start gen @1", "yield gen #5 @2", "creturn builtins.next @2",
		"call builtins.next 13 @3", "start gen @3", "yield gen #6 @4", "creturn builtins.next @4"})
	f.runOn(t, b, script{"start f @10", "call builtins.next 3 @11", "resume gen #5 @12", "yield gen #5 @13", "creturn builtins.next @14",
		"call builtins.next 3 @15", "resume gen #5 @16", "return gen @17", "creturn builtins.next @18", "return f @20"})
	f.runOn(t, a, script{"call builtins.next 13 @30", "resume gen #6 @31", "return gen @32", "creturn builtins.next @33",
		"return main @50"})
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	want := []string{`m.main:0 calls=1 wall=50
  builtins.next:10 calls=1 wall=1
    m.gen:0 calls=1 wall=1
  builtins.next:11 calls=2 wall=4
    m.gen:0 calls=1 wall=2
`, `m.f:0 calls=1 wall=10
  builtins.next:20 calls=2 wall=6
    [resumed from another thread]:0 calls=0 wall=2
      m.gen:0 calls=0 wall=2
`}
	for i, th := range p.Threads {
		if got := render(p, th); got != want[i] {
			t.Errorf("thread %d:\n%s\nwant:\n%s", th.ID, got, want[i])
		}
	}
}

// TestBuilderTaggedResumptions: frames of one code suspended at the same
// time resume in the node they started in, told apart by their tags, in
// whatever order they resume; each frame counts its one call, and none
// of them a node of 0 calls.
func TestBuilderTaggedResumptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		async  bool
		events script
		want   string
	}{
		{
			// outer delegates to inner in one generator and to gen in the
			// other (yield from); the older is resumed first, and its
			// inner frame then resumes inside it.
			name: "two generators of one function resumed out of order",
			events: script{"start main @0", "start outer 3 @1", "start inner 5 @1", "yield inner #11 @2", "yield outer #1 @2",
				"start outer 13 @3", "start gen 5 @4", "yield gen #12 @5", "yield outer #2 @5",
				"resume outer #1 @6", "resume inner #11 @6", "return inner @7", "return outer @8",
				"resume outer #2 @9", "resume gen #12 @9", "return gen @10", "return outer @11", "return main @12"},
			want: `m.main:0 calls=1 wall=12 await=0
  m.outer:10 calls=1 wall=3 await=0
    m.inner:50 calls=1 wall=2 await=0
  m.outer:11 calls=1 wall=4 await=0
    m.gen:50 calls=1 wall=2 await=0
`,
		},
		{
			// Two tasks of fetch, one awaiting sleep, the other parse,
			// resumed by the loop in the reverse order of their
			// suspensions.
			name:  "tasks of one coroutine resumed in reverse order",
			async: true,
			events: append(append(append(append(script{"start module @0", "start run 12 @1", "start run_once @2"},
				step(3, "start fetch @4", "start sleep 3 @5", "yield sleep #21 @6", "yield fetch #1 @6")...),
				step(7, "start fetch @8", "start parse 3 @9", "yield parse #22 @10", "yield fetch #2 @10")...),
				append(script{"return run_once @11", "start run_once @11", "call select.epoll.poll @12", "creturn select.epoll.poll @20"},
					step(21, "resume fetch #2 @22", "resume parse #22 @22", "return parse @23", "return fetch @24")...)...),
				append(step(25, "resume fetch #1 @26", "resume sleep #21 @26", "return sleep @27", "return fetch @28"),
					"return run_once @29", "return run @30", "return module @31")...),
			// The sleep waited 6 to 26, the parse 10 to 22: 20 and 12 of
			// await, each its fetch's and the module's.
			want: `crawler.<module>:0 calls=1 wall=31 await=32
  asyncio.runners.run:11 calls=1 wall=21 await=0
    asyncio.base_events.BaseEventLoop._run_once:0 calls=2 wall=19 await=0
      asyncio.events.Handle._run:0 calls=4 wall=4 await=0
        Context.run:0 calls=4 wall=4 await=0
      select.epoll.poll:0 calls=1 wall=8 await=0
  crawler.fetch:11 calls=2 wall=8 await=32
    asyncio.tasks.sleep:70 calls=1 wall=2 await=20
    crawler.parse:70 calls=1 wall=2 await=12
`,
		},
		{
			// The generators of one function thrown into in another order
			// than they suspended: each throw reaches its own frame.
			name: "throws into two generators of one function",
			events: script{"start main @0", "start gen 3 @1", "yield gen #1 @2", "start gen 13 @3", "yield gen #2 @5",
				"throw gen #1 @7", "unwind gen @8", "throw gen #2 @9", "unwind gen @12", "return main @13"},
			// 1 and 1 for the first, 2 and 3 for the second.
			want: `m.main:0 calls=1 wall=13 await=0
  m.gen:10 calls=1 wall=2 await=0
  m.gen:11 calls=1 wall=5 await=0
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.async {
				f = newAsyncFixture(t)
			}
			tb := f.run(t, 1, tc.events)
			p := f.b.Finish(FinishOptions{NanosPerTick: 1})
			if got := renderAwait(p, p.Threads[0]); got != tc.want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, tc.want)
			}
			if tb.Mismatched != 0 {
				t.Errorf("%d leave events matched no frame", tb.Mismatched)
			}
		})
	}
}

// TestBuilderGeneratorAcrossThreadsDecodedLate: each thread's ring is
// decoded on its own, so the thread that advances a generator can be
// decoded before the suspension on the thread it left: its resumption,
// matching nothing then, is claimed by that suspension once decoded, and
// says it came from another thread, not that it started before recording.
func TestBuilderGeneratorAcrossThreadsDecodedLate(t *testing.T) {
	f := newFixture(t)
	a := f.b.NewThread(1)
	b := f.b.NewThread(2)
	f.runOn(t, a, script{"start main @0", "call builtins.next 3 @1", "start gen @1"})
	f.runOn(t, b, script{"start f @10", "call builtins.next 3 @11", "resume gen #5 @12", "return gen @13",
		"creturn builtins.next @14", "return f @20"})
	f.runOn(t, a, script{"yield gen #5 @2", "creturn builtins.next @2", "return main @50"})
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	want := []string{`m.main:0 calls=1 wall=50
  builtins.next:10 calls=1 wall=1
    m.gen:0 calls=1 wall=1
`, `m.f:0 calls=1 wall=10
  builtins.next:20 calls=1 wall=3
    [resumed from another thread]:0 calls=0 wall=1
      m.gen:0 calls=0 wall=1
`}
	for i, th := range p.Threads {
		if got := render(p, th); got != want[i] {
			t.Errorf("thread %d:\n%s\nwant:\n%s", th.ID, got, want[i])
		}
	}
	if n := a.Mismatched + b.Mismatched; n != 0 {
		t.Errorf("%d leave events matched no frame", n)
	}
}

// TestBuilderDeadFrameOfSameTag: Python 3.13.0 raises no event when a
// generator paused outside any try is closed or collected, so its
// suspension stays; the next generator of its function may take its
// memory, and so its tag. A resumption goes on in the newest suspension
// of its code and tag, the live frame, not in the dead one.
func TestBuilderDeadFrameOfSameTag(t *testing.T) {
	f := newFixture(t)
	// f makes a generator through outer and drops it silently; g makes
	// one at the same address through outer and advances it twice.
	made := func(at int) script {
		return script{fmt.Sprintf("start outer 3 @%d", at), fmt.Sprintf("call builtins.next 3 @%d", at+1),
			fmt.Sprintf("start gen @%d", at+1), fmt.Sprintf("yield gen #7 @%d", at+2),
			fmt.Sprintf("creturn builtins.next @%d", at+2), fmt.Sprintf("return outer @%d", at+3)}
	}
	advanced := func(at int) script {
		return script{fmt.Sprintf("call builtins.next 13 @%d", at), fmt.Sprintf("resume gen #7 @%d", at),
			fmt.Sprintf("start inner 5 @%d", at+1), fmt.Sprintf("return inner @%d", at+2),
			fmt.Sprintf("yield gen #7 @%d", at+2), fmt.Sprintf("creturn builtins.next @%d", at+3)}
	}
	events := script{"start main @0", "start f 3 @1"}
	events = append(events, made(1)...)
	events = append(events, "return f @5", "start g 13 @6")
	events = append(events, made(6)...)
	events = append(events, advanced(10)...)
	events = append(events, advanced(13)...)
	events = append(events, "return g @20", "return main @21")
	f.run(t, 1, events)
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	var callers []string
	p.Threads[0].Root.Walk(func(path []*Node) {
		if n := path[len(path)-1]; p.Funcs[n.Func].Name == "m.inner" {
			callers = append(callers, fmt.Sprintf("%s calls=%d", p.Funcs[path[1].Func].Name, n.Total[Calls]))
		}
	})
	if want := []string{"m.g calls=2"}; !slices.Equal(callers, want) {
		t.Errorf("inner's nodes below main's callee %q, want %q:\n%s", callers, want, render(p, p.Threads[0]))
	}
}

// TestBuilderManySuspendedGenerators: generators of one function made and
// primed, then each advanced in turn, more of them than the builder keeps.
// Tagged orphans are kept by the tens of thousands; beyond any bound, the
// one frame not kept is the only one that loses its caller: when it
// suspends again, it is not kept in the place of the next frame to resume.
func TestBuilderManySuspendedGenerators(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		// orphans: made by outer, which returns; otherwise made on main.
		orphans bool
		lost    int
	}{
		{name: "a pipeline of primed generators", n: 20000, orphans: true},
		{name: "more than the bound on untagged orphans", n: maxOrphans + 1, orphans: true},
		{name: "one more than a frame keeps", n: maxKids + 1, lost: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tb := f.b.NewThread(1)
			gen, inner, outer := f.codes["gen"], f.codes["inner"], f.codes["outer"]
			next := f.natives["builtins.next"]
			tag := func(i int) FrameTag { return FrameTag(i%4095 + 1) }
			tb.EnterPython(f.codes["main"], SiteNone, true, 0)
			ts := int64(1)
			for i := 0; i < tc.n; i++ {
				if tc.orphans {
					tb.EnterPython(outer, 3, true, ts)
					tb.EnterNative(next, 3, ts)
				}
				tb.EnterPython(gen, 5, true, ts)
				tb.YieldPython(gen, tag(i), ts+1)
				if tc.orphans {
					tb.LeaveNative(next, ts+1)
					tb.LeavePython(outer, ts+1)
				}
				ts += 2
			}
			// Orphans are advanced by next() in f; the generators kept
			// on main by main itself, as zip() over them would.
			if tc.orphans {
				tb.EnterPython(f.codes["f"], 13, true, ts)
			}
			for i := 0; i < tc.n; i++ {
				if tc.orphans {
					tb.EnterNative(next, 3, ts)
				}
				tb.ResumePython(gen, tag(i), ts)
				tb.EnterPython(inner, 5, true, ts)
				tb.LeavePython(inner, ts+1)
				tb.YieldPython(gen, tag(i), ts+1)
				if tc.orphans {
					tb.LeaveNative(next, ts+1)
				}
				ts += 2
			}
			if tc.orphans {
				tb.LeavePython(f.codes["f"], ts)
			}
			tb.LeavePython(f.codes["main"], ts)
			p := f.b.Finish(FinishOptions{NanosPerTick: 1})
			lost := int64(0)
			p.Threads[0].Root.Walk(func(path []*Node) {
				n := path[len(path)-1]
				if p.Funcs[n.Func].Name == "m.inner" && slices.ContainsFunc(path, func(a *Node) bool {
					return p.Funcs[a.Func].Name == ResumedUnseenMarker
				}) {
					lost += n.Total[Calls]
				}
			})
			if lost != int64(tc.lost) {
				t.Errorf("%d resumptions lost their caller, want %d", lost, tc.lost)
			}
		})
	}
}

// BenchmarkBuilderTaskSteps: asyncio's loop stepping its suspended tasks
// in turn, each step a resumption of one task's coroutine, found by its
// tag, and its yield. A step costs the same with 16 tasks as with 4,000:
// finding a task by a scan of the suspended ones made a program of
// thousands of tasks spend most of its time waiting for the builder.
func BenchmarkBuilderTaskSteps(b *testing.B) {
	for _, tasks := range []int{16, 4000} {
		b.Run(fmt.Sprintf("tasks=%d", tasks), func(b *testing.B) {
			f := newAsyncFixture(b)
			tb := f.b.NewThread(1)
			c := f.codes
			ts := int64(1)
			tb.EnterPython(c["module"], SiteNone, true, ts)
			tb.EnterPython(c["run"], 12, true, ts)
			tb.EnterPython(c["run_once"], SiteNone, true, ts)
			step := func(task int, first bool) {
				ts++
				tag := FrameTag(1 + task)
				tb.EnterPython(c["handle_run"], SiteNone, true, ts)
				tb.EnterNative(f.natives["Context.run"], SiteNone, ts)
				if first {
					tb.EnterPython(c["fetch"], SiteNone, true, ts)
				} else {
					tb.ResumePython(c["fetch"], tag, ts)
				}
				tb.YieldPython(c["fetch"], tag, ts+1)
				tb.LeaveNative(f.natives["Context.run"], ts+1)
				tb.LeavePython(c["handle_run"], ts+1)
			}
			for task := range tasks {
				step(task, true)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				step(i%tasks, false)
			}
		})
	}
}

// BenchmarkBuilderThrowIntoChains makes a chain of two suspended frames
// and throws into the oldest, with 16 and with 4,000 chains suspended: a
// throw finds its chain by the innermost frame's tag in one lookup, so the
// cost of a step does not grow with the chains waiting.
func BenchmarkBuilderThrowIntoChains(b *testing.B) {
	for _, chains := range []int{16, 4000} {
		b.Run(fmt.Sprintf("chains=%d", chains), func(b *testing.B) {
			f := newFixture(b)
			tb := f.b.NewThread(1)
			c := f.codes
			ts := int64(1)
			tb.EnterPython(c["main"], SiteNone, true, ts)
			tags := func(i int) (FrameTag, FrameTag) {
				return FrameTag(1 + i%2000), FrameTag(1 + (i*7+3)%2000)
			}
			make := func(i int) {
				ts++
				outer, inner := tags(i)
				tb.EnterPython(c["f"], 3, true, ts)
				tb.EnterPython(c["gen"], 3, true, ts)
				tb.EnterPython(c["inner"], 4, true, ts)
				tb.YieldPython(c["inner"], inner, ts)
				tb.YieldPython(c["gen"], outer, ts)
				tb.LeavePython(c["f"], ts)
			}
			throw := func(i int) {
				ts++
				outer, inner := tags(i)
				tb.ThrowsNext([]Resumption{{Code: c["gen"], Tag: outer}})
				tb.ThrowPython(c["inner"], inner, ts)
				tb.LeavePython(c["inner"], ts)
				tb.ThrowPython(c["gen"], outer, ts)
				tb.LeavePython(c["gen"], ts)
			}
			for i := range chains {
				make(i)
			}
			for i := 0; b.Loop(); i++ {
				throw(i)
				make(i + chains)
			}
			if tb.Mismatched != 0 {
				b.Errorf("%d leaves matched nothing", tb.Mismatched)
			}
		})
	}
}

// TestBuilderChainsSharingATag: two suspended chains whose outer frames
// share a tag (thousands of tasks of one coroutine share the few tags
// there are), the older resumed first, as an event loop resumes its
// tasks. The frames the decoder saw resumed right after the outer one
// (ResumesNext) tell which chain resumes: each inner frame goes on in its
// own chain, none under a marker, whichever order the chains resume in.
func TestBuilderChainsSharingATag(t *testing.T) {
	for _, order := range [][2]int{{1, 2}, {2, 1}} {
		t.Run(fmt.Sprintf("chain %d first", order[0]), func(t *testing.T) {
			f := newFixture(t)
			tb := f.b.NewThread(1)
			gen, inner := f.codes["gen"], f.codes["inner"]
			f.runOn(t, tb, script{"start main @0",
				// f and g each start a chain, gen awaiting inner, and end.
				"start f 3 @1", "start gen 3 @1", "start inner 4 @2", "yield inner #1 @3", "yield gen #7 @3", "return f @4",
				"start g 4 @5", "start gen 3 @5", "start inner 4 @6", "yield inner #2 @7", "yield gen #7 @7", "return g @8"})
			ts := int64(10)
			for _, chain := range order {
				innerTag := FrameTag(chain)
				tb.ResumesNext([]Resumption{{Code: inner, Tag: innerTag}})
				tb.ResumePython(gen, 7, ts)
				tb.ResumePython(inner, innerTag, ts+1)
				tb.LeavePython(inner, ts+2)
				tb.LeavePython(gen, ts+3)
				ts += 10
			}
			tb.LeavePython(f.codes["main"], ts)
			p := f.b.Finish(FinishOptions{NanosPerTick: 1})
			got := render(p, p.Threads[0])
			if strings.Contains(got, "[resumed") || strings.Count(got, "m.inner:") != 2 {
				t.Errorf("tree:\n%s\nwant each inner frame in its own chain, under f and under g, no marker", got)
			}
		})
	}
}

// TestBuilderThrowIntoChainsSharingATag: two suspended chains, gen
// delegating to inner, whose inner frames share a tag; a throw reaches the
// newer chain's inner frame first, then its gen. The frames the decoder
// saw the throw reach next (ThrowsNext) tell which chain it went into:
// each frame leaves from its own chain, and the other chain stays
// suspended, whole.
func TestBuilderThrowIntoChainsSharingATag(t *testing.T) {
	f := newFixture(t)
	tb := f.b.NewThread(1)
	gen, inner := f.codes["gen"], f.codes["inner"]
	f.runOn(t, tb, script{"start main @0",
		"start f 3 @1", "start gen 3 @1", "start inner 4 @2", "yield inner #1 @3", "yield gen #7 @3", "return f @4",
		"start g 4 @5", "start gen 3 @5", "start inner 4 @6", "yield inner #1 @7", "yield gen #8 @7", "return g @8"})
	tb.ThrowsNext([]Resumption{{Code: gen, Tag: 8}})
	tb.ThrowPython(inner, 1, 10)
	f.runOn(t, tb, script{"unwind inner @11", "throw gen #8 @11", "return gen @12",
		// The older chain goes on afterwards, resumed from the outside in.
		"resume gen #7 @20", "resume inner #1 @20", "return inner @21", "return gen @22", "return main @30"})
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	got := render(p, p.Threads[0])
	want := `m.main:0 calls=1 wall=30
  m.f:10 calls=1 wall=5
    m.gen:20 calls=1 wall=4
      m.inner:40 calls=1 wall=2
  m.g:10 calls=1 wall=5
    m.gen:30 calls=1 wall=4
      m.inner:40 calls=1 wall=2
`
	if got != want || tb.Mismatched != 0 {
		t.Errorf("tree (%d leaves matched nothing):\n%s\nwant:\n%s", tb.Mismatched, got, want)
	}
}

// TestBuilderNestedResumptionsLendOnce: a generator resumed away from the
// caller it started under, and inside it another: the frames below lend
// their time to the outer one's run, which holds the inner one's, once.
// Lent twice, g's wall came out negative and its caller's far too large.
func TestBuilderNestedResumptionsLendOnce(t *testing.T) {
	f := newFixture(t)
	tb := f.run(t, 1, script{"start main @0",
		// f starts two generators and returns: both go on elsewhere.
		"start f 1 @1", "start gen 2 @2", "yield gen #1 @3", "start outer 3 @4", "yield outer #2 @5", "return f @6",
		// g runs gen, which runs outer.
		"start g 4 @10", "call builtins.next 5 @11", "resume gen #1 @12", "call builtins.next 6 @13",
		"resume outer #2 @14", "yield outer #2 @40", "creturn builtins.next @41", "yield gen #1 @42",
		"creturn builtins.next @43", "return g @50", "return main @60"})
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	got := render(p, p.Threads[0])
	// f ran 1-6 and, through gen and outer, 12-42; g 10-50 less gen's
	// run, 12-42, which holds outer's; main the rest.
	want := `m.main:0 calls=1 wall=60
  m.f:10 calls=1 wall=35
    m.gen:20 calls=1 wall=5
      builtins.next:40 calls=1 wall=2
    m.outer:20 calls=1 wall=27
  m.g:10 calls=1 wall=10
    builtins.next:30 calls=1 wall=2
`
	if got != want || tb.Mismatched != 0 {
		t.Errorf("tree (%d leaves matched nothing):\n%s\nwant:\n%s", tb.Mismatched, got, want)
	}
}

// TestBuilderSiblingResumptionsExtendTheirOwnPhantoms: two generators
// started by two functions that returned, the second resuming the first
// inside its own run: each function's node holds its generator's time
// only, and the caller's children stay within its wall.
func TestBuilderSiblingResumptionsExtendTheirOwnPhantoms(t *testing.T) {
	f := newFixture(t)
	tb := f.run(t, 1, script{"start main @0",
		"start f 1 @1", "start gen 2 @2", "yield gen #1 @3", "return f @4",
		"start g 2 @5", "start outer 3 @6", "yield outer #2 @7", "return g @8",
		// key runs outer, which runs gen.
		"start key 3 @10", "call builtins.next 5 @11", "resume outer #2 @12", "call builtins.next 6 @13",
		"resume gen #1 @14", "yield gen #1 @40", "creturn builtins.next @41", "yield outer #2 @42",
		"creturn builtins.next @43", "return key @50", "return main @60"})
	p := f.b.Finish(FinishOptions{NanosPerTick: 1})
	got := render(p, p.Threads[0])
	// f ran 1-4 and gen in it 14-40; g 5-8 and outer in it 12-42 less
	// gen's run; key 10-50 less outer's run, which holds gen's.
	want := `m.main:0 calls=1 wall=60
  m.f:10 calls=1 wall=29
    m.gen:20 calls=1 wall=27
  m.g:10 calls=1 wall=7
    m.outer:30 calls=1 wall=5
      builtins.next:50 calls=1 wall=2
  m.key:10 calls=1 wall=10
    builtins.next:70 calls=1 wall=2
`
	if got != want || tb.Mismatched != 0 {
		t.Errorf("tree (%d leaves matched nothing):\n%s\nwant:\n%s", tb.Mismatched, got, want)
	}
}
