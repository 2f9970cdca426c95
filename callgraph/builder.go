package callgraph

import (
	"sort"
	"strings"
	"time"
)

// CodeID identifies a Python code object in an event stream.
type CodeID uint32

// NativeID identifies a native callable in an event stream.
type NativeID uint32

// SiteNone marks an unknown call site.
const SiteNone = ^uint32(0)

// Code describes a code object once; events refer to it by CodeID.
type Code struct {
	Qualname string
	Filename string
	// Module is the __name__ of the module the code was defined in, as the
	// agent read it from the globals of the code's first frame; "" when it
	// could not (FuncName then guesses it from Filename).
	Module    string
	FirstLine int
	// Lines maps instruction offsets (in code units) to lines: each entry
	// covers offsets from its Start up to the next entry's Start.
	Lines []LineRange
	// Hidden code is pyprof's own start-up code: its frames, and native
	// calls they make, are transparent in the tree.
	Hidden bool
}

// LineRange is one row of a code object's line table; Line is -1 where
// the instructions have no line.
type LineRange struct {
	Start uint32
	Line  int32
}

// lineAt returns the line of the instruction at offset, or 0.
func (c *Code) lineAt(offset uint32) int32 {
	i := sort.Search(len(c.Lines), func(i int) bool { return c.Lines[i].Start > offset }) - 1
	if i < 0 || c.Lines[i].Line < 0 {
		return 0
	}
	return c.Lines[i].Line
}

// frameKey identifies a child in the tree being built: the native bit, the
// code or callable id, and the line of the parent from which it was called.
// Keying by line, not by call-site offset, keeps the tree the size of the
// program's distinct calling contexts: fib's two calls on one line would
// otherwise make a node per call.
type frameKey uint64

const nativeBit = frameKey(1) << 63

// markerBit marks the key of a marker node the builder adds itself (see
// resumeUnmatched); its id indexes Builder.markerKinds. No frame on a stack
// has one.
const markerBit = frameKey(1) << 62

func pythonKey(c CodeID, line int32) frameKey {
	return frameKey(c)<<32 | frameKey(uint32(line))
}

func nativeKey(n NativeID, line int32) frameKey {
	return nativeBit | frameKey(n)<<32 | frameKey(uint32(line))
}

func (k frameKey) native() bool { return k&nativeBit != 0 }
func (k frameKey) id() uint32   { return uint32(k>>32) &^ (3 << 30) }
func (k frameKey) line() int32  { return int32(uint32(k)) }

// bnode is a tree node while building.
type bnode struct {
	key   frameKey
	calls int64
	ticks int64
	cpu   int64 // self on-CPU nanoseconds charged by ChargeCPU
	// await is the self ticks spent suspended in an await (see suspend.go).
	await int64
	// ran is the ticks this node ran as the thread's innermost frame since
	// the thread's last CPU reading; ChargeCPU shares the CPU time read out
	// by these.
	ran int64
	// cpuBefore is cpu when the current reading began (see ChargeCPU).
	cpuBefore int64
	// asleep and awake count the CPU readings that found a native frame
	// on top with the thread asleep, and on CPU: one found asleep more
	// often waits there (see waits).
	asleep, awake int32
	children      []*bnode
	index         map[frameKey]*bnode // for nodes with many children
	parent        *bnode
}

// manyChildren is where a linear scan of children gives way to a map.
const manyChildren = 16

func (n *bnode) child(k frameKey) *bnode {
	if n.index != nil {
		if c := n.index[k]; c != nil {
			return c
		}
	} else {
		for _, c := range n.children {
			if c.key == k {
				return c
			}
		}
	}
	c := &bnode{key: k, parent: n}
	n.children = append(n.children, c)
	if n.index != nil {
		n.index[k] = c
	} else if len(n.children) > manyChildren {
		n.index = make(map[frameKey]*bnode, 2*manyChildren)
		for _, x := range n.children {
			n.index[x.key] = x
		}
	}
	return c
}

// frame is an open call on a thread's stack.
type frame struct {
	node  *bnode
	key   frameKey // what was entered; id only (site cleared) for matching leaves
	start int64
	// lent is the time frames above this one ran while their nodes hang
	// elsewhere in the tree (see lendFrom): it is not this frame's wall.
	lent int64
	// lendFrom is the index of the first frame below this one on the
	// stack that is not its caller in the tree: a task's coroutine, which
	// the tree places under the code that started the event loop, not
	// under the loop's frames that run it; a generator resumed by a callee
	// of the frame that started it. The frames from lendFrom up to this
	// one lend it their time. It is this frame's own index otherwise.
	lendFrom int32
	// lentAt is where ThreadBuilder.lentBefore holds what the frames from
	// lendFrom up had been lent when this frame was pushed (see lendTo).
	lentAt int32
	// transparent frames (hidden code, native calls from it) add no node.
	transparent bool
	// task marks the outermost coroutine of an asyncio task; awaited a
	// frame resumed after awaiting; hasSide a frame with a sideInfo in
	// ThreadBuilder.side (see suspend.go), which few frames need: one
	// pointer a frame keeps frames small and fast to push; delegating a
	// frame put back under the frame it awaits or iterates, which a throw
	// reached first (see resumeChain).
	task, awaited, hasSide, delegating bool
	// tag is the frame tag of a generator or coroutine frame, as its
	// last resumption or suspension said it (see suspend.go); TagNone,
	// the zero value, for a frame not seen suspending yet.
	tag FrameTag
}

// ThreadBuilder builds one thread's tree from its events in time order.
// Timestamps are ticks of the recording clock; Builder.Finish converts.
type ThreadBuilder struct {
	ID   int64
	Name string
	b    *Builder
	// p holds the definitions of the thread's process, which the ids in
	// its events refer to.
	p     *Process
	root  bnode
	stack []frame
	last  int64
	// Mismatched counts leave events that matched no open frame (frames
	// entered before monitoring began, or sys.monitoring's own quirks).
	Mismatched int64
	// ran lists the nodes whose ran field is set: the nodes that ran since
	// the last CPU reading, which was at cpuTick (cpuNanos on the
	// monotonic clock).
	ran               []*bnode
	cpuTick, cpuNanos int64
	// spare lists earlier periods' nodes that ran longer than the CPU
	// time they got, oldest first (see ChargeCPU).
	spare []spareRoom
	// orphans are suspended generators and coroutines whose frame below
	// has ended, by key; yielded is the suspension the previous event
	// made, if it was a PY_YIELD (see suspend.go).
	orphans map[frameKey]*orphanQueue
	// chainEnds lists the orphans by the innermost frame of their chain,
	// nil until a throw first looks for a chain among them (see findChain).
	chainEnds map[chainEnd]*stayList
	yielded   *suspension
	// side holds, by stack index, the sideInfo of frames with hasSide.
	side []*sideInfo
	// lentBefore holds, for the frames on the stack that lend their time
	// to frames below them, what those had been lent when they were
	// pushed (see noteLent), a stack of its own.
	lentBefore []int64
	// spareSuspensions are suspensions resumed and free for reuse: a
	// generator makes one at each yield, and allocating each anew made
	// the garbage collector most of the consumer's work on a generator
	// pipeline.
	spareSuspensions []*suspension
	// inner lists the frames that the events right after the next
	// resumption resume in their turn, when the decoder saw them (see
	// ResumesNext).
	inner []Resumption
	// outer lists the frames a throw reaches after the next one, when the
	// decoder saw them (see ThrowsNext).
	outer []Resumption
}

func (t *ThreadBuilder) top() *frame {
	if len(t.stack) == 0 {
		return nil
	}
	return &t.stack[len(t.stack)-1]
}

func (t *ThreadBuilder) parentNode() *bnode {
	if f := t.top(); f != nil {
		return f.node
	}
	return &t.root
}

// advance brings the thread's clock to ts, the time of an event or a CPU
// reading: the frame running until then (the innermost) ran the time since
// the previous one, which ChargeCPU needs to share CPU time out. Events
// drained after a reading may be older than it; they ran nothing new.
func (t *ThreadBuilder) advance(ts int64) {
	if d := ts - t.last; d > 0 {
		// Before the thread's first event (last 0) nothing ran.
		if t.b.cpu && t.last != 0 {
			n := t.parentNode()
			if n.ran == 0 {
				t.ran = append(t.ran, n)
			}
			n.ran += d
		}
		t.last = ts
	}
}

// EnterPython records PY_START (call true) or a PY_RESUME that carries no
// frame tag (call false: ResumePython with TagNone). site is the call-site
// offset in the caller, or SiteNone. Only PY_START counts a call, so that
// counts stay what sys.monitoring raised.
func (t *ThreadBuilder) EnterPython(c CodeID, site uint32, call bool, ts int64) {
	if !call {
		t.ResumePython(c, TagNone, ts)
		return
	}
	t.advance(ts)
	t.yielded = nil
	parent := &t.root
	line := int32(0)
	d := len(t.stack)
	if d > 0 {
		parent = t.stack[d-1].node
		if !t.stack[d-1].transparent {
			line = t.p.callLine(t.stack[d-1].key, site)
		}
	}
	if int(c) < len(t.p.hiddenCode) && t.p.hiddenCode[c] {
		t.stack = append(t.stack, frame{node: parent, key: pythonKey(c, 0), transparent: true, lendFrom: int32(d)})
		return
	}
	f := frame{key: pythonKey(c, 0), start: ts, lendFrom: int32(d)}
	if a, ok := t.taskAnchor(c); ok {
		parent, line = t.anchorPlace(a)
		f.lendFrom, f.task = int32(a+1), true
	}
	f.node = parent.child(pythonKey(c, line))
	f.node.calls++
	t.stack = append(t.stack, f)
	t.noteLent(d)
}

// EnterNative records a call of a native callable from the current frame.
func (t *ThreadBuilder) EnterNative(id NativeID, site uint32, ts int64) {
	t.advance(ts)
	t.yielded = nil
	d := int32(len(t.stack))
	if f := t.top(); f != nil && f.transparent {
		t.stack = append(t.stack, frame{node: f.node, key: nativeKey(id, 0), transparent: true, lendFrom: d})
		return
	}
	var line int32
	if f := t.top(); f != nil {
		line = t.p.callLine(f.key, site)
	}
	n := t.parentNode().child(nativeKey(id, line))
	n.calls++
	t.stack = append(t.stack, frame{node: n, key: nativeKey(id, 0), start: ts, lendFrom: d})
}

// LeavePython records PY_RETURN or PY_UNWIND of code c. Native frames still
// open above c are closed with it: sys.monitoring does not always pair CALL
// with C_RETURN (gh-122029).
func (t *ThreadBuilder) LeavePython(c CodeID, ts int64) {
	t.advance(ts)
	t.yielded = nil
	// Fast path: the frame leaving is the top one, as it nearly always is.
	if d := len(t.stack) - 1; d >= 0 && t.stack[d].key == pythonKey(c, 0) {
		t.close(d, ts)
		t.stack = t.stack[:d]
		return
	}
	t.leave(pythonKey(c, 0), ts, 0)
}

// LeaveNative records C_RETURN or C_RAISE. It only closes native frames:
// a C_RETURN with no open CALL beneath the top Python frame is ignored.
func (t *ThreadBuilder) LeaveNative(id NativeID, ts int64) {
	t.advance(ts)
	t.yielded = nil
	t.leave(nativeKey(id, 0), ts, nativeBit)
}

// leave pops the innermost open frame entered as key, closing any frames
// above it. Only frames whose key has the bits in through set are passed
// over on the way down.
func (t *ThreadBuilder) leave(key frameKey, ts int64, through frameKey) {
	i := len(t.stack) - 1
	if i >= 0 && t.stack[i].delegating && t.stack[i].key != key {
		t.settleDelegating(ts)
		i = len(t.stack) - 1
	}
	for ; i >= 0; i-- {
		if t.stack[i].key == key {
			break
		}
		if t.stack[i].key&through != through {
			i = -1
			break
		}
	}
	if i < 0 {
		t.Mismatched++
		return
	}
	for j := len(t.stack) - 1; j >= i; j-- {
		t.close(j, ts)
	}
	t.stack = t.stack[:i]
}

// close ends the frame at index i of the stack for good (it returned or
// unwound): the generators and coroutines suspended on it are orphans now.
func (t *ThreadBuilder) close(i int, ts int64) {
	f := &t.stack[i]
	t.endRun(i, ts)
	if f.hasSide {
		for _, s := range t.takeKids(i) {
			t.addOrphan(s)
		}
	}
}

// noteLent keeps, for the frame just pushed at index i, what the frames it
// will lend its time to have been lent so far: they are lent its whole
// run on top of that when it leaves (lendTo). Adding its run to what they
// hold then would count twice the runs of frames above it that lent to
// them too, whose runs are part of its own: a generator resumed inside a
// generator resumed away from its caller made the frames below lend more
// than they ran, and their wall negative.
func (t *ThreadBuilder) noteLent(i int) {
	f := &t.stack[i]
	if int(f.lendFrom) >= i {
		return
	}
	f.lentAt = int32(len(t.lentBefore))
	for j := int(f.lendFrom); j < i; j++ {
		t.lentBefore = append(t.lentBefore, t.stack[j].lent)
	}
}

// lendTo lends the d ticks frame i ran to the frames from its lendFrom
// up to it (see noteLent).
func (t *ThreadBuilder) lendTo(i int, d int64) {
	f := &t.stack[i]
	from := int(f.lendFrom)
	if from >= i {
		return
	}
	at := int(f.lentAt)
	if at+i-from > len(t.lentBefore) {
		// Not noted (cannot happen): lend as though nothing above lent.
		for j := from; j < i; j++ {
			t.stack[j].lent += d
		}
		return
	}
	for j := from; j < i; j++ {
		t.stack[j].lent = t.lentBefore[at+j-from] + d
	}
	t.lentBefore = t.lentBefore[:at]
}

// endRun adds the time frame i has been on the stack since it was entered
// or resumed to its node, less what it lent to frames above it, and lends
// it to the frames between it and its caller in the tree.
func (t *ThreadBuilder) endRun(i int, ts int64) {
	f := &t.stack[i]
	if f.transparent {
		return
	}
	d := ts - f.start
	f.node.ticks += d - f.lent
	t.lendTo(i, d)
	if f.hasSide {
		// Only the part of its run spent in its own node and below is
		// under its phantoms: a generator resumed inside it and lent its
		// time hangs elsewhere, and extends its own phantoms.
		t.endPhantoms(i, d-f.lent)
	}
	if t.b.timeline != nil && d >= t.b.timeline.min {
		t.b.timeline.add(t, f.key, f.start, d)
	}
}

// Depth is the number of open frames.
func (t *ThreadBuilder) Depth() int { return len(t.stack) }

// Builder collects the definitions and threads of one recording: those of
// the program itself, through its own methods, and those of each child
// process it follows, through a Process.
type Builder struct {
	main     *Process
	threads  []*ThreadBuilder
	lost     int64
	timeline *timeline
	// cpu is set when on-CPU time is charged: the profile measures CPU.
	cpu bool
	// awaits is set once await time is charged: the profile has it.
	awaits bool
	// cpuUnplaced counts the nanoseconds of CPU time that no call could
	// take (see ChargeCPU).
	cpuUnplaced int64
	// markerKinds holds, by the id of a marker node's key, which marker of
	// markerNames it is (see resumeUnmatched).
	markerKinds []uint8
	// orphanSeq numbers the stays of orphans (see orphanQueue).
	orphanSeq uint64
}

// Process holds the definitions of one process. Each agent numbers its
// code objects and callables on its own, so a child process's ids mean
// something else than the same ids of its parent.
type Process struct {
	pid   int64
	b     *Builder
	codes []*Code // by CodeID
	// hiddenCode mirrors codes[i].Hidden where the hot path can read it
	// without a pointer chase.
	hiddenCode []bool
	// asyncioCode holds, by CodeID, loopCode and dispatchCode bits.
	asyncioCode []uint8
	// lines[c][offset] is the line of code c's instruction at offset.
	lines   [][]int32
	natives []string // by NativeID
	// nanos: the process counts CLOCK_MONOTONIC nanoseconds while the
	// recording counts ticks of another clock (see CountsNanoseconds).
	nanos bool
	// exited and exitTick: the process ended at exitTick (in its own
	// clock); frames still open close there, not at the recording's end.
	exited   bool
	exitTick int64
	// pending holds the tagged resumptions that matched nothing yet,
	// which a suspension on another thread decoded later may claim (see
	// claimPending).
	pending map[pendingKey][]pendingResume
}

// MeasureCPU says that ChargeCPU will be called: profiles get a cpu value.
func (b *Builder) MeasureCPU() { b.cpu = true }

// timeline collects calls at least min ticks long. To stay bounded on long
// runs it keeps at most max of them: when full, it doubles min and drops
// the calls now too short, so the longest calls are the ones kept.
type timeline struct {
	min   int64
	max   int
	spans []rawSpan
}

type rawSpan struct {
	thread     *ThreadBuilder
	key        frameKey
	start, dur int64
}

func (tl *timeline) add(t *ThreadBuilder, key frameKey, start, dur int64) {
	tl.spans = append(tl.spans, rawSpan{t, key &^ frameKey(^uint32(0)), start, dur})
	for len(tl.spans) > tl.max {
		tl.min *= 2
		kept := tl.spans[:0]
		for _, s := range tl.spans {
			if s.dur >= tl.min {
				kept = append(kept, s)
			}
		}
		tl.spans = kept
	}
}

// RecordTimeline makes the builder keep calls that last at least min ticks,
// at most max of them.
func (b *Builder) RecordTimeline(min int64, max int) {
	if min < 1 {
		min = 1
	}
	b.timeline = &timeline{min: min, max: max}
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	b := &Builder{markerKinds: []uint8{resumedUnseen: resumedUnseen, resumedElsewhere: resumedElsewhere}}
	b.main = &Process{b: b}
	return b
}

// NewProcess starts the definitions of child process pid: its threads are
// labelled with pid (Thread.PID), and its ids are its own.
func (b *Builder) NewProcess(pid int64) *Process {
	return &Process{pid: pid, b: b}
}

// PID returns the process id given to NewProcess; 0 for the program itself.
func (p *Process) PID() int64 { return p.pid }

// CountsNanoseconds says that the process's timestamps are CLOCK_MONOTONIC
// nanoseconds, not ticks of the recording's clock: a child running the
// pure-Python agent (which cannot read the TSC) under a parent whose C
// agent does. Its times are converted with FinishOptions' *Nanos fields.
func (p *Process) CountsNanoseconds() { p.nanos = true }

// Exit says that the process ended at tick ts of its own clock: its frames
// still open close there, and not when the recording ends.
func (p *Process) Exit(ts int64) { p.exited, p.exitTick = true, ts }

// DefineCode tells what a CodeID of the program stands for.
func (b *Builder) DefineCode(id CodeID, c *Code) { b.main.DefineCode(id, c) }

// DefineNative names a NativeID of the program.
func (b *Builder) DefineNative(id NativeID, name string) { b.main.DefineNative(id, name) }

// NewThread starts the tree of a thread of the program.
func (b *Builder) NewThread(id int64) *ThreadBuilder { return b.main.NewThread(id) }

// Main returns the program's own Process, whose PID is 0.
func (b *Builder) Main() *Process { return b.main }

// DefineCode tells what a CodeID of this process stands for.
func (p *Process) DefineCode(id CodeID, c *Code) {
	for int(id) >= len(p.codes) {
		p.codes = append(p.codes, nil)
	}
	p.codes[id] = c
	for int(id) >= len(p.hiddenCode) {
		p.hiddenCode = append(p.hiddenCode, false)
	}
	p.hiddenCode[id] = c.Hidden
	for int(id) >= len(p.asyncioCode) {
		p.asyncioCode = append(p.asyncioCode, 0)
	}
	p.asyncioCode[id] = asyncioFlags(c)
	for int(id) >= len(p.lines) {
		p.lines = append(p.lines, nil)
	}
	p.lines[id] = c.lineTable()
}

// Bits of Process.asyncioCode.
const (
	// loopCode is asyncio's own code: its event loop, futures and tasks.
	loopCode uint8 = 1 << iota
	// dispatchCode is the function through which asyncio's event loop
	// runs every callback and task step.
	dispatchCode
	// stepCode is asyncio's tasks module, whose Task (where the C one
	// is not used) steps a task's coroutine in frames of its own
	// between the dispatch and the coroutine.
	stepCode
)

func asyncioFlags(c *Code) uint8 {
	m := c.Module
	if m == "" {
		m = ModuleName(c.Filename)
	}
	if m != "asyncio" && !strings.HasPrefix(m, "asyncio.") {
		return 0
	}
	switch {
	case m == "asyncio.events" && c.Qualname == "Handle._run":
		return loopCode | dispatchCode
	case m == "asyncio.tasks":
		return loopCode | stepCode
	}
	return loopCode
}

// asyncio returns the asyncio bits of code id.
func (p *Process) asyncio(id uint32) uint8 {
	if int(id) < len(p.asyncioCode) {
		return p.asyncioCode[id]
	}
	return 0
}

// maxLineTable bounds the direct line table of one code object; offsets
// past it are looked up by binary search.
const maxLineTable = 1 << 20

// lineTable expands the ranges of c.Lines into a table indexed by offset.
func (c *Code) lineTable() []int32 {
	if len(c.Lines) == 0 {
		return nil
	}
	n := int(c.Lines[len(c.Lines)-1].Start) + 1
	if n > maxLineTable {
		n = maxLineTable
	}
	table := make([]int32, n)
	for off := range table {
		table[off] = c.lineAt(uint32(off))
	}
	return table
}

// callLine returns the line of the frame entered as key at call-site
// offset site: 0 for native frames and unknown sites.
func (p *Process) callLine(key frameKey, site uint32) int32 {
	if key.native() || site == SiteNone {
		return 0
	}
	id := key.id()
	if int(id) >= len(p.lines) {
		return 0
	}
	table := p.lines[id]
	if int(site) < len(table) {
		return table[site]
	}
	if len(table) == 0 {
		return 0
	}
	// Past the table's end lies its last row, unless the table was cut:
	// the common case (every call after a function's last line starts).
	if len(table) < maxLineTable {
		return table[len(table)-1]
	}
	return p.codes[id].lineAt(site)
}

// DefineNative names a NativeID of this process.
func (p *Process) DefineNative(id NativeID, name string) {
	for int(id) >= len(p.natives) {
		p.natives = append(p.natives, "")
	}
	p.natives[id] = name
}

// NewThread starts the tree of a thread of this process.
func (p *Process) NewThread(id int64) *ThreadBuilder {
	t := &ThreadBuilder{ID: id, b: p.b, p: p}
	p.b.threads = append(p.b.threads, t)
	return t
}

// AddLost counts events that never reached the builder.
func (b *Builder) AddLost(n int64) { b.lost += n }

// FinishOptions says how to turn ticks into time.
type FinishOptions struct {
	// End is the tick at which frames still open are closed (the program
	// exited with them on the stack), unless their process exited earlier.
	End int64
	// NanosPerTick converts ticks to nanoseconds.
	NanosPerTick float64
	Start        time.Time
	Duration     time.Duration
	// StartTick is the tick at Start, the origin of timeline spans.
	StartTick int64
	// StartNanos and EndNanos are CLOCK_MONOTONIC readings at StartTick and
	// End, for processes that count nanoseconds (Process.CountsNanoseconds).
	StartNanos, EndNanos int64
}

// clock returns, for threads of process p, the scale from their
// timestamps to nanoseconds, the tick at which their open frames close,
// and the tick at Start.
func (o FinishOptions) clock(p *Process) (scale float64, end, start int64) {
	scale, end, start = o.NanosPerTick, o.End, o.StartTick
	if p.nanos {
		scale, end, start = 1, o.EndNanos, o.StartNanos
	}
	if p.exited {
		end = p.exitTick
	}
	return scale, end, start
}

// Finish closes open frames and returns the profile, with call sites
// resolved to lines and functions interned by (name, file, first line).
func (b *Builder) Finish(o FinishOptions) *Profile {
	p := &Profile{Values: []Value{Calls, Wall}, Default: Wall, Start: o.Start, Duration: o.Duration, Lost: b.lost}
	if b.cpu {
		p.Values = append(p.Values, CPU)
	}

	r := resolver{b: b, p: p, funcs: map[funcKey]FuncID{}, threadIndex: map[*ThreadBuilder]int{}}
	for _, t := range b.threads {
		var end int64
		r.scale, end, _ = o.clock(t.p)
		r.proc = t.p
		if end < t.last {
			end = t.last
		}
		for j := len(t.stack) - 1; j >= 0; j-- {
			t.close(j, end)
		}
		t.stack = nil
		t.chargePendingAwaits(end)
		if len(t.root.children) == 0 {
			continue
		}
		root := &Node{}
		r.convertChildren(&t.root, root)
		r.threadIndex[t] = len(p.Threads)
		p.Threads = append(p.Threads, &Thread{ID: t.ID, Name: t.Name, PID: t.p.pid, Root: root})
	}
	if b.awaits {
		p.Values = append(p.Values, Await)
	}
	p.CPUUnplaced = time.Duration(b.cpuUnplaced + r.cpuUnplaced)
	if b.lost > 0 && len(p.Threads) > 0 {
		r.addLostMarker(p.Threads[0].Root)
	}
	if b.timeline != nil {
		r.convertTimeline(b.timeline, o)
	}
	return p
}

func (r *resolver) convertTimeline(tl *timeline, o FinishOptions) {
	// Empty, not nil, when no call lasted long enough: the timeline was asked for.
	r.p.Timeline = make([]Span, 0, len(tl.spans))
	for _, s := range tl.spans {
		i, ok := r.threadIndex[s.thread]
		if !ok {
			continue
		}
		scale, _, start := o.clock(s.thread.p)
		ns := func(ticks int64) time.Duration { return time.Duration(float64(ticks) * scale) }
		r.proc = s.thread.p
		r.p.Timeline = append(r.p.Timeline, Span{Thread: i, Func: r.funcOf(s.key), Start: ns(s.start - start), Dur: ns(s.dur)})
	}
	sort.SliceStable(r.p.Timeline, func(a, b int) bool {
		x, y := r.p.Timeline[a], r.p.Timeline[b]
		if x.Thread != y.Thread {
			return x.Thread < y.Thread
		}
		return x.Start < y.Start
	})
	r.p.TimelineMin = time.Duration(float64(tl.min) * o.NanosPerTick)
}

type funcKey struct {
	name, file string
	line       int
	kind       FuncKind
}

// resolver turns bnodes into Nodes.
type resolver struct {
	b *Builder
	p *Profile
	// proc and scale are those of the thread being converted: ids are
	// looked up in proc's definitions, ticks scaled by scale.
	proc  *Process
	scale float64
	funcs map[funcKey]FuncID
	// threadIndex maps a thread to its index in p.Threads.
	threadIndex map[*ThreadBuilder]int
	// cpuUnplaced counts the CPU time selfCPU left out.
	cpuUnplaced int64
}

func (r *resolver) intern(k funcKey) FuncID {
	if id, ok := r.funcs[k]; ok {
		return id
	}
	id := r.p.AddFunc(Func{Name: k.name, Filename: k.file, StartLine: k.line, Kind: k.kind})
	r.funcs[k] = id
	return id
}

func (r *resolver) code(k frameKey) *Code {
	if id := k.id(); int(id) < len(r.proc.codes) && r.proc.codes[id] != nil {
		return r.proc.codes[id]
	}
	return nil
}

func (r *resolver) funcOf(k frameKey) FuncID {
	if k.native() {
		name := ""
		if id := k.id(); int(id) < len(r.proc.natives) {
			name = r.proc.natives[id]
		}
		if name == "" {
			name = UnknownNative
		}
		return r.intern(funcKey{name: name, kind: KindNative})
	}
	if k&markerBit != 0 {
		return r.intern(funcKey{name: markerNames[r.b.markerKinds[k.id()]], kind: KindMarker})
	}
	c := r.code(k)
	if c == nil {
		return r.intern(funcKey{name: UnknownCodeMarker, kind: KindMarker})
	}
	return r.intern(funcKey{name: FuncName(c.Module, c.Filename, c.Qualname), file: c.Filename, line: c.FirstLine, kind: KindPython})
}

// convertChildren adds the children of bn under n and returns the CPU and
// await time of bn's subtree, which are charged to nodes as self time and
// summed here. Children whose code objects are the same function merge.
func (r *resolver) convertChildren(bn *bnode, n *Node) (cpu, await int64) {
	cpu, await = r.selfCPU(bn), int64(float64(bn.await)*r.scale)
	child := n.Child
	if len(bn.children) > wideNode {
		child = indexedChild(n)
	}
	for _, bc := range bn.children {
		c := child(r.funcOf(bc.key), bc.key.line())
		c.Total[Calls] += bc.calls
		c.Total[Wall] += int64(float64(bc.ticks) * r.scale)
		subCPU, subAwait := r.convertChildren(bc, c)
		c.Total[CPU] += subCPU
		c.Total[Await] += subAwait
		cpu += subCPU
		await += subAwait
	}
	return cpu, await
}

// wideNode is the number of children past which convertChildren finds
// them by a map: Node.Child scans, and a frame calling many distinct
// functions (a generated module's, a dispatcher's) made Finish quadratic.
const wideNode = 32

// indexedChild is n.Child with a map of n's children by function and
// call line.
func indexedChild(n *Node) func(FuncID, int32) *Node {
	type at struct {
		f    FuncID
		line int32
	}
	index := make(map[at]*Node, len(n.Children))
	for _, c := range n.Children {
		if _, ok := index[at{c.Func, c.CallLine}]; !ok {
			index[at{c.Func, c.CallLine}] = c
		}
	}
	return func(f FuncID, line int32) *Node {
		if c := index[at{f, line}]; c != nil {
			return c
		}
		// What n.Child does when its scan finds nothing.
		c := &Node{Func: f, CallLine: line, Parent: n}
		n.Children = append(n.Children, c)
		index[at{f, line}] = c
		return c
	}
}

// selfCPU returns bn's CPU time, at most its self wall time. ChargeCPU
// gives no node more than it ran between two readings, as the thread's
// clock measured the time between them; the two clocks (/proc's and the
// ticks') still disagree by a little, and the CPU time over a node's own
// wall, which it did not run, is left out and counted as unplaced. The
// root has no time of its own: the little CPU time a thread uses outside
// any frame is left out too.
func (r *resolver) selfCPU(bn *bnode) int64 {
	if bn.cpu <= 0 {
		return 0
	}
	self := bn.ticks
	for _, c := range bn.children {
		self -= c.ticks
	}
	wall := max(int64(float64(self)*r.scale), 0)
	if bn.cpu > wall {
		r.cpuUnplaced += bn.cpu - wall
		return wall
	}
	return bn.cpu
}

func (r *resolver) addLostMarker(root *Node) {
	name := LostMarker(r.b.lost)
	m := root.Child(r.intern(funcKey{name: name, kind: KindMarker}), 0)
	m.Total[Calls] = r.b.lost
}

// Threads returns how many threads have started.
func (b *Builder) Threads() int { return len(b.threads) }

// Mismatched returns the leave events of all threads that matched no
// open frame.
func (b *Builder) Mismatched() int64 {
	var n int64
	for _, t := range b.threads {
		n += t.Mismatched
	}
	return n
}

// waits tells whether native frame n waits (time.sleep, a lock, a read):
// the CPU readings that found it on top found the thread asleep more
// often than running. ChargeCPU gives such a frame CPU time after the
// frames that compute. A single reading can find a frame that has just
// returned, the thread asleep in the next (the events of the moment
// between the drain and the reading come later), so one is not enough.
func (n *bnode) waits() bool { return n.asleep > n.awake }
