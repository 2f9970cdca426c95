package callgraph

// Generators and coroutines suspend and resume: PY_YIELD takes such a
// frame off the stack without ending it, and PY_RESUME (or PY_THROW) puts
// it back, maybe elsewhere. The builder keeps a suspended frame as a
// suspension and, when the code resumes, finds it again, so that the frame
// goes on in the node it started in: a resumption is never a new call.
//
// The events name the code and, where the agent can read the interpreter's
// frames, the frame, by a frame tag (see FrameTag): a resumption takes a
// suspension of the same code whose tag matches its own (the same tag, or
// either event without one), in this order:
//
//  1. a suspension made on the frame running now: a generator resumed by
//     the loop that iterates it, or an awaited coroutine resumed by the
//     coroutine awaiting it (its SEND), both of which suspended on top of
//     the frame now resuming them;
//  2. when the event loop resumes it (see taskAnchor), an orphan of an
//     asyncio task: the outermost coroutine of a task, which
//     suspended on the loop's frames that ran one step of it, since ended
//     (or, failing that, any orphan: an eager task's first step ran in
//     create_task, outside the loop);
//  3. a suspension made on a frame further down: a generator passed to a
//     function its creator called;
//  4. any orphan;
//  5. for a throw, a frame inside a chain of suspended frames (see Throws
//     below).
//
// With tags, several frames of one code suspended at once (generators of
// one function interleaved, tasks of one coroutine resumed in another
// order than they suspended) each resume in the node they started in;
// without, the order above guesses, and a frame resumed inside a chain
// it did not suspend in can find nothing. Orphans of the same tag are
// told apart by the frames resumed right after (see ResumesNext): the one
// whose chain holds them resumes, and of several alike the newest, since a
// frame's address holds one live frame at a time (see takeOrphan); an
// untagged orphan, or one for an untagged event, is taken oldest first. A
// collision the chains do not tell apart can put a frame in another's
// node, never count a call.
//
// Unmatched resumptions: a resumption that matches no suspension of its
// thread opens a node that counts no call, since sys.monitoring raised no
// PY_START for it there, under a marker node that says why (see
// resumeUnmatched): ResumedElsewhereMarker when the frame suspended on
// another thread of the process (a generator handed to a worker thread),
// whose suspension, and those made on it, move to this thread, under the
// marker; ResumedUnseenMarker otherwise: the frame started before the
// recording did (a region of a program), or it is one the builder stopped
// keeping (see maxKids), or, without tags, one the order above could not
// find. A frame that started while recording is then never shown as a
// call counted 0 times where it was not called.
//
// Each thread's events are decoded on their own, not in time order with
// other threads': a resumption decoded before the suspension it follows
// on another thread waits for it (see awaitClaim). One case stays
// unmatched: a generator that went back to the thread it left, when that
// thread's events are decoded first, resumes its old suspension there,
// and its resumption on the other thread, decoded afterwards, finds none
// and reads as started before recording.
//
// Tasks: asyncio runs a task one step at a time from its loop
// (BaseEventLoop._run_once, Handle._run, Context.run, the task's step).
// The tree places a task's outermost coroutine, instead, under the frame
// that started the loop (the caller of asyncio.run or run_until_complete),
// at the line of that call: each task has its own root there, and the
// frames it awaits stack under it. The loop's frames that ran the step do
// not count the step's time as theirs.
//
// Await time: a coroutine chain suspends from the inside out (the coroutine
// that awaits a future yields, then the one awaiting it, up to the task's
// outermost), one PY_YIELD after the other; those frames form a chain. When
// a task's chain resumes, the time from its suspension to its resumption is
// await time, charged to the innermost frame of the chain (the one that
// awaited something other than a coroutine), and inclusive like CPU time,
// so each coroutine of the chain holds it.
//
// Throws: a throw into a suspended frame (a task's cancellation,
// generator.throw, close) goes down the chain of frames it delegates to
// (its await or yield from, theirs, and so on) and reaches them from the
// inside out: the innermost frame gets PY_THROW first; the frame
// delegating to it gets its own event (PY_THROW, or PY_RESUME when the
// inner one returned) only once that one has left, and none if it
// suspends again instead, since the frames delegating to it pass on what
// it yielded. A thrown-into frame found nowhere else is looked for inside
// the chains, and the chain is put back on the stack down to it (see
// resumeChain): the frame goes on in the node it started in, and a
// cancelled task's await time ends at the throw, charged to the innermost
// frame as a resumption would charge it. Only PY_THROW looks there: the
// search goes through every suspended task, and a PY_RESUME reaches a
// chain from the outside in.

// suspension is a generator or coroutine frame that yielded.
type suspension struct {
	node *bnode
	key  frameKey
	tag  FrameTag
	at   int64 // when it suspended
	kids []*suspension
	// task marks the outermost coroutine of an asyncio task.
	task bool
	// seq numbers its stay among the orphans of its code, 0 when it is
	// not one (see orphanQueue).
	seq uint64
	// endList is the list of chainEnds it is in, while an orphan.
	endList *stayList
	// chained: the frame below it yielded right after it, as awaits do.
	// leaf: no frame above it yielded just before it; the innermost
	// frame of its chain.
	chained, leaf bool
}

// FrameTag tells apart the frames of one code object suspended at the same
// time: the agents hash the address of the interpreter's frame, which a
// generator or coroutine keeps inside itself for its life, into the few
// bits its PY_YIELD, PY_RESUME and PY_THROW events have room for. TagNone
// is an event without one (an agent that cannot read this interpreter's
// frames); two frames may share a tag.
type FrameTag uint16

// TagNone is the tag of events that carry none.
const TagNone FrameTag = 0

// tagsMatch tells whether a suspension tagged a can be the frame of an
// event tagged b.
func tagsMatch(a, b FrameTag) bool { return a == b || a == TagNone || b == TagNone }

// matches tells whether s can be the suspended frame of key and tag.
func (s *suspension) matches(key frameKey, tag FrameTag) bool {
	return s.key == key && tagsMatch(s.tag, tag)
}

// maxKids bounds the suspensions kept on one frame, maxOrphans the
// untagged orphans of one code that are not tasks, and maxTaggedOrphans
// the tagged ones, which are found by their tag at no cost however many
// there are (a pipeline of thousands of primed generators keeps them all):
// a generator left unfinished (any() stopping early, next() taken once)
// stays suspended for good, and a loop making such generators would
// otherwise grow the lists without end. The oldest go first; one of them
// resumed afterwards counts as a frame first seen there (see lostFrame).
const (
	maxKids          = 64
	maxOrphans       = 64
	maxTaggedOrphans = 1 << 16
)

// lostFrame tells whether suspension s is of a frame whose resumption
// matched nothing (see resumeUnmatched), and that a full list therefore
// does not keep in the place of its oldest member. Frames resumed in turn
// (the generators of a pipeline, advanced one after the other) resume the
// oldest next: were the lost frame kept, the next one would be lost in its
// place, and so on, each resumption losing its caller, not just the one
// frame that was not kept.
func lostFrame(s *suspension) bool {
	p := s.node.parent
	return p != nil && p.key&markerBit != 0
}

// YieldPython records PY_YIELD of code c from the frame tagged tag: the
// frame on top suspends.
func (t *ThreadBuilder) YieldPython(c CodeID, tag FrameTag, ts int64) {
	prev := t.yielded
	t.advance(ts)
	t.yielded = nil
	d := len(t.stack) - 1
	if d < 0 || t.stack[d].key != pythonKey(c, 0) {
		t.leave(pythonKey(c, 0), ts, 0)
		return
	}
	if t.stack[d].transparent {
		t.stack = t.stack[:d]
		return
	}
	if tag != TagNone && len(t.p.pending) > 0 && t.claimPending(t.stack[d].key, tag, ts) {
		// It resumed on another thread already: it ends here.
		t.close(d, ts)
		t.stack = t.stack[:d]
		return
	}
	t.suspend(d, ts, prev, tag)
	// A frame delegating to the one that yielded passes on what it
	// yielded, with no event of its own: it suspends too, as awaits do.
	for d--; d >= 0 && t.stack[d].delegating; d-- {
		t.suspend(d, ts, t.yielded, TagNone)
	}
}

// suspend takes the frame at index d, the top one, off the stack as a
// suspension; prev is the suspension that the previous event made, if it
// was a PY_YIELD; tag is the frame's tag, TagNone for the one it last had.
func (t *ThreadBuilder) suspend(d int, ts int64, prev *suspension, tag FrameTag) {
	f := &t.stack[d]
	t.endRun(d, ts)
	if tag == TagNone {
		tag = f.tag
	}
	s := t.newSuspension()
	*s = suspension{node: f.node, key: f.key, tag: tag, at: ts, task: f.task, leaf: true}
	if f.hasSide {
		s.kids = t.takeKids(d)
		if k := s.kids; prev != nil && len(k) > 0 && k[len(k)-1] == prev {
			prev.chained, s.leaf = true, false
		}
	}
	t.stack = t.stack[:d]
	if d > 0 {
		t.addKid(d-1, s)
	} else {
		t.addOrphan(s)
	}
	t.yielded = s
}

// ResumePython records PY_RESUME of code c in the frame tagged tag: the
// frame that suspended goes on (see the order above), or, found nowhere,
// opens a node that counts no call (see resumeUnmatched).
func (t *ThreadBuilder) ResumePython(c CodeID, tag FrameTag, ts int64) {
	t.advance(ts)
	t.yielded = nil
	defer t.forgetNext()
	if t.resume(pythonKey(c, 0), tag, ts) {
		t.retag(tag)
		return
	}
	t.resumeUnmatched(c, tag, ts)
}

// Resumption is a PY_RESUME or PY_THROW: of code Code, in the frame
// tagged Tag.
type Resumption struct {
	Code CodeID
	Tag  FrameTag
}

// ResumesNext tells the builder, before a PY_RESUME or PY_THROW, what the
// events right after it resume in their turn: the frames the resumed one
// awaits or delegates to, outermost first, whose suspensions it holds
// since the chain suspended. Tags are a few bits of a frame's address,
// and thousands of tasks of one coroutine share them: of several
// suspended frames with the resumed one's tag, the one whose chain holds
// those frames is the one resuming, where the rule of the newest would
// take another and leave the inner frames to match nothing. The builder
// uses chain only until the resumption it precedes is done.
func (t *ThreadBuilder) ResumesNext(chain []Resumption) { t.inner = chain }

// forgetNext forgets what the decoder said of the events after a
// resumption or throw, once it is done (see ResumesNext, ThrowsNext).
func (t *ThreadBuilder) forgetNext() { t.inner, t.outer = nil, nil }

// innerDepth returns how many of the frames ResumesNext named, from the
// first on, the chain of suspensions held by s holds.
func (t *ThreadBuilder) innerDepth(s *suspension) int {
	depth := 0
	for _, r := range t.inner {
		var next *suspension
		for _, k := range s.kids {
			if k.matches(pythonKey(r.Code, 0), r.Tag) {
				next = k
				break
			}
		}
		if next == nil {
			break
		}
		s, depth = next, depth+1
	}
	return depth
}

// retag gives the frame just resumed, on top, the tag of the event that
// resumed it, which its suspension may have lacked.
func (t *ThreadBuilder) retag(tag FrameTag) {
	if tag != TagNone {
		t.stack[len(t.stack)-1].tag = tag
	}
}

// resume puts back the suspended frame of key and tag (see the order
// above) and reports whether it found one.
func (t *ThreadBuilder) resume(key frameKey, tag FrameTag, ts int64) bool {
	d := len(t.stack)
	if d > 0 {
		if f := &t.stack[d-1]; f.delegating && f.key == key && tagsMatch(f.tag, tag) {
			// The frame it delegates to has left (see resumeChain).
			f.delegating = false
			return true
		}
		if s := t.takeKid(d-1, key, tag); s != nil {
			t.push(s, ts, d, s.chained && t.stack[d-1].awaited)
			return true
		}
	}
	if a, ok := t.loopAnchor(); ok {
		s := t.takeOrphan(key, tag, true)
		if s == nil {
			// A coroutine that started outside the loop and that the loop
			// runs now is a task all the same: an eager task, whose first
			// step ran in create_task, or a coroutine wrapped in a task
			// after it started. It goes on where it started.
			if s = t.takeOrphan(key, tag, false); s != nil {
				s.task = true
			}
		}
		if s != nil {
			t.push(s, ts, a+1, true)
			return true
		}
	}
	for j := d - 2; j >= 0; j-- {
		if s := t.takeKid(j, key, tag); s != nil {
			t.push(s, ts, j+1, false)
			return true
		}
	}
	if s := t.takeOrphan(key, tag, false); s != nil {
		t.push(s, ts, d, s.task)
		return true
	}
	return false
}

// resumeUnmatched opens the frame of code c, tagged tag, whose resumption
// matched no suspension of the thread (see Unmatched resumptions above):
// where the thread is now, or under the frame that started the event loop
// for a task the loop resumes, below a marker node that says why it
// counts no call.
func (t *ThreadBuilder) resumeUnmatched(c CodeID, tag FrameTag, ts int64) {
	key := pythonKey(c, 0)
	d := len(t.stack)
	if int(c) < len(t.p.hiddenCode) && t.p.hiddenCode[c] {
		t.stack = append(t.stack, frame{node: t.parentNode(), key: key, transparent: true, lendFrom: int32(d)})
		return
	}
	parent, line, task := t.parentNode(), int32(0), false
	if a, ok := t.taskAnchor(c); ok {
		parent, line = t.anchorPlace(a)
		task = true
	}
	marker := uint32(resumedUnseen)
	s := t.stealSuspension(key, tag)
	switch {
	case s != nil:
		marker = resumedElsewhere
	case tag != TagNone:
		marker = t.awaitClaim(key, tag, ts)
	}
	if s == nil {
		s = t.newSuspension()
		*s = suspension{key: key, tag: tag, at: ts}
	}
	m := parent.child(markerBit | frameKey(marker)<<32 | frameKey(uint32(line)))
	rehome(s, m.child(key))
	s.task = task
	// push finds the marker between the frame and its caller and extends
	// the marker's wall by the frame's, as it does a phantom's.
	t.push(s, ts, d, false)
	t.retag(tag)
}

// The markers resumeUnmatched puts over a resumed frame, by index in
// markerNames. A marker node's key holds as its id an index in
// Builder.markerKinds, whose first two entries are these two; a
// resumption that a suspension on another thread may still claim has a
// marker node of its own, whose kind changes when it is claimed.
const (
	resumedUnseen = iota
	resumedElsewhere
)

// pendingKey and pendingResume: a tagged resumption on thread t at tick
// at that matched nothing, under the marker node of id serial.
type pendingKey struct {
	key frameKey
	tag FrameTag
}

type pendingResume struct {
	t      *ThreadBuilder
	at     int64
	serial uint32
}

// maxPending bounds the unclaimed resumptions kept for one key and tag;
// the oldest go first, and stay marked as started before recording.
const maxPending = 64

// awaitClaim keeps the resumption of key and tag at ts, which matched
// nothing, for a suspension on another thread that its ring gives pyprof
// only later (each ring is decoded on its own: a thread's ring may be
// drained before that of the thread the frame left), and returns the id
// of its own marker, started before recording until claimed.
func (t *ThreadBuilder) awaitClaim(key frameKey, tag FrameTag, ts int64) uint32 {
	serial := uint32(len(t.b.markerKinds))
	t.b.markerKinds = append(t.b.markerKinds, resumedUnseen)
	if t.p.pending == nil {
		t.p.pending = map[pendingKey][]pendingResume{}
	}
	k := pendingKey{key, tag}
	list := t.p.pending[k]
	if len(list) >= maxPending {
		list = append(list[:0], list[1:]...)
	}
	t.p.pending[k] = append(list, pendingResume{t: t, at: ts, serial: serial})
	return serial
}

// claimPending tells whether the frame of key and tag suspending at ts
// resumed later on another thread, where that resumption, decoded first,
// matched nothing: its marker then says that it came from another thread.
func (t *ThreadBuilder) claimPending(key frameKey, tag FrameTag, ts int64) bool {
	k := pendingKey{key, tag}
	list := t.p.pending[k]
	for i, r := range list {
		if r.t == t || r.at < ts {
			continue
		}
		t.b.markerKinds[r.serial] = resumedElsewhere
		if list = append(list[:i], list[i+1:]...); len(list) == 0 {
			delete(t.p.pending, k)
		} else {
			t.p.pending[k] = list
		}
		return true
	}
	return false
}

var markerNames = []string{resumedUnseen: ResumedUnseenMarker, resumedElsewhere: ResumedElsewhereMarker}

// rehome moves suspension s to node n, and the suspensions made on its
// frame, and on theirs, to the nodes of the same keys below n: a frame
// taken from another thread goes on in this thread's tree, with the
// frames it delegates to.
func rehome(s *suspension, n *bnode) {
	s.node = n
	for _, k := range s.kids {
		rehome(k, n.child(k.node.key))
	}
}

// stealSuspension removes and returns a suspension of key and tag that
// another thread of the process keeps: a generator or coroutine that
// suspended there and resumes here. Only resumptions that match nothing
// on their own thread pay this search.
func (t *ThreadBuilder) stealSuspension(key frameKey, tag FrameTag) *suspension {
	for _, u := range t.b.threads {
		if u == t || u.p != t.p {
			continue
		}
		if s := u.extract(key, tag); s != nil {
			return s
		}
	}
	return nil
}

// extract removes and returns a suspension of key and tag wherever the
// thread keeps it: made on a frame on its stack, an orphan, or made on
// the frame of one of those.
func (t *ThreadBuilder) extract(key frameKey, tag FrameTag) *suspension {
	for i := range t.stack {
		if !t.stack[i].hasSide {
			continue
		}
		if s := takeAmong(&t.side[i].kids, key, tag); s != nil {
			t.dropSide(i)
			return s
		}
	}
	for _, q := range t.orphans {
		if s := q.extract(key, tag); s != nil {
			return s
		}
	}
	return nil
}

// takeAmong removes and returns a suspension of key and tag from list,
// or from the suspensions made on the frames of its members, and theirs.
func takeAmong(list *[]*suspension, key frameKey, tag FrameTag) *suspension {
	for j, s := range *list {
		if s.matches(key, tag) {
			*list = append((*list)[:j], (*list)[j+1:]...)
			return s
		}
		if k := takeAmong(&s.kids, key, tag); k != nil {
			return k
		}
	}
	return nil
}

// ThrowPython records PY_THROW of code c into the frame tagged tag: an
// exception thrown into a suspended generator or coroutine resumes it as
// PY_RESUME does, or, found nowhere else, inside a chain of suspended
// frames (see Throws above).
func (t *ThreadBuilder) ThrowPython(c CodeID, tag FrameTag, ts int64) {
	t.advance(ts)
	t.yielded = nil
	defer t.forgetNext()
	if key := pythonKey(c, 0); t.resume(key, tag, ts) || t.resumeChain(key, tag, ts) {
		t.retag(tag)
		return
	}
	t.resumeUnmatched(c, tag, ts)
}

// resumeChain resumes a frame of key that a throw reached inside a chain
// of suspended frames (see Throws above): the chain goes back on the
// stack from its root down to that frame, the root as the orders above
// put back a suspension found where it is, each frame above it as the
// first order does, all but the last marked delegating. It reports
// whether it found one.
func (t *ThreadBuilder) resumeChain(key frameKey, tag FrameTag, ts int64) bool {
	root, on, hops := t.findChain(key, tag)
	if root == nil {
		return false
	}
	d := len(t.stack)
	if on >= 0 {
		t.removeKid(on, root)
		t.push(root, ts, on+1, on == d-1 && root.chained && t.stack[on].awaited)
	} else {
		t.orphans[root.key].remove(root)
		if a, ok := t.loopAnchor(); ok {
			// A task's step: the throw of its cancellation.
			root.task = true
			t.push(root, ts, a+1, true)
		} else {
			t.push(root, ts, d, root.task)
		}
	}
	for ; hops > 0; hops-- {
		i := len(t.stack) - 1
		si := t.side[i]
		s := si.kids[len(si.kids)-1]
		si.kids = si.kids[:len(si.kids)-1]
		t.dropSide(i)
		t.stack[i].delegating = true
		t.push(s, ts, i+1, s.chained && t.stack[i].awaited)
	}
	return true
}

// findChain finds a frame of key and tag that a suspended frame delegates to,
// directly or through others, and returns the suspension at the root of
// that chain, where it is (the index of the frame it was made on, -1 for
// an orphan) and how many steps down the chain the frame of key is. It
// looks at the chains made on the running frames first, innermost first,
// then at the orphans' that end in a frame of key and tag, then at every
// orphan's. Of several orphans' chains holding the frame, it takes the one
// whose delegating frames are those ThrowsNext named, and of several
// alike the oldest: several tasks of one coroutine may await the same
// code, and which of them a throw reached cannot always be told from the
// events.
func (t *ThreadBuilder) findChain(key frameKey, tag FrameTag) (root *suspension, on, hops int) {
	for i := len(t.stack) - 1; i >= 0; i-- {
		if !t.stack[i].hasSide {
			continue
		}
		kids := t.side[i].kids
		for j := len(kids) - 1; j >= 0; j-- {
			if h := chainDepth(kids[j], key, tag); h > 0 {
				return kids[j], i, h
			}
		}
	}
	best := -1
	consider := func(s *suspension) bool {
		h := chainDepth(s, key, tag)
		if h == 0 {
			return true
		}
		score := t.outerDepth(s, h)
		if score > best || score == best && (s.at < root.at || s.at == root.at && s.key < root.key) {
			root, hops, best = s, h, score
		}
		return true
	}
	if tag != TagNone && len(t.outer) > 0 {
		// The frame a throw reaches first is the innermost of its chain,
		// and the next the frame delegating to it: the orphans whose
		// chain ends in frames of those tags are found in one lookup,
		// where looking through every orphan made a program throwing into
		// each of 20,000 suspended chains run for minutes (and looking
		// through those ending in the innermost tag alone, 160,000).
		if t.chainEnds == nil {
			t.indexChainEnds()
		}
		if l := t.chainEnds[chainEnd{key, tag, t.outer[0].Tag}]; l != nil {
			l.each(consider)
			if root != nil {
				return root, -1, hops
			}
		}
	}
	for _, q := range t.orphans {
		q.each(consider)
	}
	return root, -1, hops
}

// chainEnd names the innermost frame of a chain of suspended frames, and
// the tag of the frame delegating to it.
type chainEnd struct {
	key           frameKey
	tag, outerTag FrameTag
}

// indexChainEnds lists the orphans by the innermost frame of their chain,
// from now on (see addOrphan): the first throw that looks among them
// turns the index on, and threads that never throw into a chain pay
// nothing for it.
func (t *ThreadBuilder) indexChainEnds() {
	t.chainEnds = map[chainEnd]*stayList{}
	for _, q := range t.orphans {
		q.each(func(s *suspension) bool {
			t.indexChainEnd(s)
			return true
		})
	}
}

// indexChainEnd adds orphan s to the list of the innermost frame of its
// chain and the frame delegating to it, when it has a chain and the
// innermost frame a tag. An orphan whose chain changes afterwards (a frame
// inside it taken by another thread) stays listed where it was; findChain
// checks each it finds, and looks through all the orphans when none fits.
func (t *ThreadBuilder) indexChainEnd(s *suspension) {
	outer, end := s, s
	for k := end.kids; len(k) > 0 && k[len(k)-1].chained; k = end.kids {
		outer, end = end, k[len(k)-1]
	}
	if end == s || end.tag == TagNone {
		return
	}
	e := chainEnd{end.key, end.tag, outer.tag}
	l := t.chainEnds[e]
	if l == nil {
		l = &stayList{}
		t.chainEnds[e] = l
	}
	l.push(s)
	s.endList = l
}

// ThrowsNext tells the builder, before a PY_THROW, which frames the events
// after it throw into or resume in their turn, innermost first, the
// returns and unwinds between them left out: the frames that delegate to
// the one thrown into, each of which gets the exception once the frame it
// delegates to has left. Of several suspended chains holding a frame with
// the thrown-into frame's tag, the one whose delegating frames are those
// is the one thrown into (see findChain). The builder uses chain only
// until the throw it precedes is done.
func (t *ThreadBuilder) ThrowsNext(chain []Resumption) { t.outer = chain }

// outerDepth returns how many of the frames ThrowsNext named, from the
// first on, are the frames delegating, innermost first, to the frame hops
// steps down the chain of s.
func (t *ThreadBuilder) outerDepth(s *suspension, hops int) int {
	if len(t.outer) == 0 {
		return 0
	}
	path := make([]*suspension, 0, hops)
	for ; len(path) < hops; s = s.kids[len(s.kids)-1] {
		path = append(path, s)
	}
	depth := 0
	for i := len(path) - 1; i >= 0 && depth < len(t.outer); i-- {
		r := t.outer[depth]
		if !path[i].matches(pythonKey(r.Code, 0), r.Tag) {
			break
		}
		depth++
	}
	return depth
}

// chainDepth returns how many steps down the chain of frames that s
// delegates to the innermost frame of key and tag is, 0 if none is.
func chainDepth(s *suspension, key frameKey, tag FrameTag) int {
	depth := 0
	for h := 1; ; h++ {
		k := s.kids
		if len(k) == 0 || !k[len(k)-1].chained {
			return depth
		}
		s = k[len(k)-1]
		if s.matches(key, tag) {
			depth = h
		}
	}
}

// settleDelegating suspends again the delegating frames on top of the
// stack: the frame they delegated to left, and the event now is not their
// resumption (the throw went into that frame itself, not through them), so
// they are still suspended where they were.
func (t *ThreadBuilder) settleDelegating(ts int64) {
	for d := len(t.stack) - 1; d >= 0 && t.stack[d].delegating; d-- {
		t.suspend(d, ts, t.yielded, TagNone)
	}
	// The event that follows does not come right after these yields.
	t.yielded = nil
}

// push puts suspension s back on the stack, its caller in the tree at
// index lendFrom-1. awaited says that it suspended in an await of a task,
// whose time the innermost frame of its chain is charged.
func (t *ThreadBuilder) push(s *suspension, ts int64, lendFrom int, awaited bool) {
	if awaited && s.leaf && ts > s.at {
		s.node.await += ts - s.at
		t.b.awaits = true
	}
	var phantoms []*bnode
	if caller := t.nodeAt(lendFrom - 1); s.node.parent != caller {
		lendFrom, phantoms = t.liveAncestor(s.node)
	}
	t.stack = append(t.stack, frame{node: s.node, key: s.key, start: ts,
		lendFrom: int32(lendFrom), task: s.task, awaited: awaited, tag: s.tag})
	t.noteLent(len(t.stack) - 1)
	if len(s.kids) > 0 || len(phantoms) > 0 {
		si := t.sideOf(len(t.stack) - 1)
		si.kids, si.phantoms = s.kids, phantoms
	}
	// The frame is on the stack again and nothing else refers to s: its
	// parent's list or the orphan queue gave it up, and t.yielded was
	// cleared by the event resuming it.
	*s = suspension{}
	t.spareSuspensions = append(t.spareSuspensions, s)
}

// newSuspension returns a spare suspension, or a new one.
func (t *ThreadBuilder) newSuspension() *suspension {
	if n := len(t.spareSuspensions); n > 0 {
		s := t.spareSuspensions[n-1]
		t.spareSuspensions = t.spareSuspensions[:n-1]
		return s
	}
	return new(suspension)
}

// nodeAt returns the node of the frame at index i, the root for -1.
func (t *ThreadBuilder) nodeAt(i int) *bnode {
	if i < 0 {
		return &t.root
	}
	return t.stack[i].node
}

// liveAncestor finds, for a frame resumed in node n whose caller in the
// tree is not running (a generator resumed after the function that
// started it returned, a cleanup run when it is dropped), the innermost
// frame on the stack whose node is an ancestor of n, and returns the
// index above it and the ancestors in between: phantoms, whose wall the
// resumed frame's time extends, so that no node holds more than its
// parent.
func (t *ThreadBuilder) liveAncestor(n *bnode) (int, []*bnode) {
	var phantoms []*bnode
	for a := n.parent; a != nil && a != &t.root; a = a.parent {
		for i := len(t.stack) - 1; i >= 0; i-- {
			if t.stack[i].node == a {
				return i + 1, phantoms
			}
		}
		phantoms = append(phantoms, a)
	}
	return 0, phantoms
}

// sideInfo holds what few frames have: the suspensions made on them,
// newest last, and their phantoms (see liveAncestor).
type sideInfo struct {
	kids     []*suspension
	phantoms []*bnode
}

// sideOf returns the sideInfo of the frame at index i, making it. The
// sideInfos are kept by stack index and reused: a generator iterated by a
// loop makes and drops one at every step.
func (t *ThreadBuilder) sideOf(i int) *sideInfo {
	if t.stack[i].hasSide {
		return t.side[i]
	}
	for len(t.side) <= i {
		t.side = append(t.side, nil)
	}
	si := t.side[i]
	if si == nil {
		si = &sideInfo{}
		t.side[i] = si
	}
	t.stack[i].hasSide = true
	return si
}

// dropSide forgets the sideInfo of frame i once it holds nothing.
func (t *ThreadBuilder) dropSide(i int) {
	if si := t.side[i]; len(si.kids) == 0 && len(si.phantoms) == 0 {
		si.kids, si.phantoms = si.kids[:0], si.phantoms[:0]
		t.stack[i].hasSide = false
	}
}

// removeKid removes suspension s, made on the frame at index i.
func (t *ThreadBuilder) removeKid(i int, s *suspension) {
	si := t.side[i]
	for j, k := range si.kids {
		if k == s {
			si.kids = append(si.kids[:j], si.kids[j+1:]...)
			t.dropSide(i)
			return
		}
	}
}

// takeKid removes and returns the newest suspension of key and tag made
// on the frame at index i.
func (t *ThreadBuilder) takeKid(i int, key frameKey, tag FrameTag) *suspension {
	if !t.stack[i].hasSide {
		return nil
	}
	si := t.side[i]
	for j := len(si.kids) - 1; j >= 0; j-- {
		if s := si.kids[j]; s.matches(key, tag) {
			si.kids = append(si.kids[:j], si.kids[j+1:]...)
			t.dropSide(i)
			return s
		}
	}
	return nil
}

// addKid records s, suspended on the frame at index i.
func (t *ThreadBuilder) addKid(i int, s *suspension) {
	si := t.sideOf(i)
	if len(si.kids) >= maxKids {
		if lostFrame(s) {
			t.dropSide(i)
			return
		}
		si.kids = append(si.kids[:0], si.kids[1:]...)
	}
	si.kids = append(si.kids, s)
}

// takeKids removes and returns the suspensions made on the frame at
// index i, which has a sideInfo.
func (t *ThreadBuilder) takeKids(i int) []*suspension {
	si := t.side[i]
	kids := si.kids
	si.kids = nil
	t.dropSide(i)
	return kids
}

// endPhantoms extends the wall of frame i's phantoms by d, the time it
// ran, as it leaves the stack.
func (t *ThreadBuilder) endPhantoms(i int, d int64) {
	si := t.side[i]
	for _, n := range si.phantoms {
		n.ticks += d
	}
	si.phantoms = nil
	t.dropSide(i)
}

// loopAnchor tells whether the event loop is running Python code now:
// the frames on top are asyncio's and native ones, among them
// Handle._run, which runs every callback and task step. It returns the
// index of the frame below them, which started the loop (-1: none did,
// the loop runs from the thread's root).
func (t *ThreadBuilder) loopAnchor() (int, bool) {
	dispatch := false
	i := len(t.stack) - 1
	for ; i >= 0; i-- {
		k := t.stack[i].key
		if k.native() {
			continue
		}
		flags := t.p.asyncio(k.id())
		if flags&loopCode == 0 {
			break
		}
		if flags&dispatchCode != 0 {
			dispatch = true
		}
	}
	return i, dispatch
}

// taskAnchor tells whether code c, starting now, is a task's coroutine or
// a callback that the event loop runs (code of the program, not asyncio's
// own), and if so the index of the frame that started the loop.
func (t *ThreadBuilder) taskAnchor(c CodeID) (int, bool) {
	d := len(t.stack)
	if d == 0 || t.p.asyncio(uint32(c))&loopCode != 0 {
		return 0, false
	}
	// Only code called from the loop's frames can be: one table lookup
	// for nearly every call.
	if k := t.stack[d-1].key; !k.native() && t.p.asyncio(k.id())&loopCode == 0 {
		return 0, false
	}
	if !t.calledByDispatch(d) {
		return 0, false
	}
	return t.loopAnchor()
}

// calledByDispatch tells whether a frame starting on top of the first d
// frames is called by Handle._run itself, through native frames and a
// Task's own steps only: a callback or a task's step. What asyncio's own
// callbacks call (a socket's accept under _accept_connection, a
// protocol's data_received under a transport's _read_ready) is theirs,
// and stays under them.
func (t *ThreadBuilder) calledByDispatch(d int) bool {
	for i := d - 1; i >= 0; i-- {
		k := t.stack[i].key
		if k.native() {
			continue
		}
		flags := t.p.asyncio(k.id())
		if flags&stepCode == 0 {
			return flags&dispatchCode != 0
		}
	}
	return false
}

// anchorPlace returns the node under which a task started by the loop
// that the frame at index a started goes, and its call line: that of the
// call that started the loop.
func (t *ThreadBuilder) anchorPlace(a int) (*bnode, int32) {
	parent := &t.root
	if a >= 0 {
		parent = t.stack[a].node
	}
	line := int32(0)
	if f := &t.stack[a+1]; !f.transparent {
		line = f.node.key.line()
	}
	return parent, line
}

// orphanQueue holds the orphans of one key in lists of stays, each in
// the order the orphans came: by class (tag, and whether a task), so that
// a resumption finds its frame in one lookup however many tasks or
// generators of the code are suspended; and by kind (tasks, untagged
// others, tagged others), for the bounds and for the oldest. An orphan
// leaves by having its seq cleared; the entries it leaves behind are
// skipped, and dropped when they outnumber the live ones.
type orphanQueue struct {
	byClass      map[orphanClass]*stayList
	tasks        stayList
	taggedOthers stayList
}

// orphanClass is the tag of an orphan and whether it is a task, in one
// integer: a map hashes it several times faster than a struct of the two.
type orphanClass uint32

func classFor(tag FrameTag, task bool) orphanClass {
	c := orphanClass(tag) << 1
	if task {
		c |= 1
	}
	return c
}

func classOf(s *suspension) orphanClass { return classFor(s.tag, s.task) }

// stayList lists orphans oldest first from head; an entry is live while
// its orphan's seq is still the entry's (see suspension.seq).
type stayList struct {
	entries []stay
	head    int
	live    int
}

type stay struct {
	s   *suspension
	seq uint64
}

func (e stay) live() bool { return e.s.seq == e.seq }

func (l *stayList) push(s *suspension) {
	l.entries = append(l.entries, stay{s: s, seq: s.seq})
	l.live++
}

// left records that one of the list's orphans left, and drops the
// entries left behind once they outnumber the live ones.
func (l *stayList) left() {
	l.live--
	if len(l.entries)-l.head <= 2*l.live+16 {
		return
	}
	kept := l.entries[:0]
	for _, e := range l.entries[l.head:] {
		if e.live() {
			kept = append(kept, e)
		}
	}
	clear(l.entries[len(kept):])
	l.entries, l.head = kept, 0
}

// oldest returns the oldest live orphan, nil if none.
func (l *stayList) oldest() *suspension {
	for ; l.head < len(l.entries); l.head++ {
		if e := l.entries[l.head]; e.live() {
			return e.s
		}
		l.entries[l.head] = stay{}
	}
	return nil
}

// newest returns the newest live orphan, nil if none.
func (l *stayList) newest() *suspension {
	for n := len(l.entries); n > l.head; n-- {
		if e := l.entries[n-1]; e.live() {
			return e.s
		}
		l.entries[n-1] = stay{}
		l.entries = l.entries[:n-1]
	}
	return nil
}

// each calls fn with the live orphans, oldest first, until fn returns
// false, and reports whether fn never did.
func (l *stayList) each(fn func(*suspension) bool) bool {
	for _, e := range l.entries[l.head:] {
		if e.live() && !fn(e.s) {
			return false
		}
	}
	return true
}

func (t *ThreadBuilder) addOrphan(s *suspension) {
	if t.orphans == nil {
		t.orphans = map[frameKey]*orphanQueue{}
	}
	q := t.orphans[s.key]
	if q == nil {
		q = &orphanQueue{byClass: map[orphanClass]*stayList{}}
		t.orphans[s.key] = q
	}
	if !s.task {
		bounded, limit := q.untaggedOthers(), maxOrphans
		if s.tag != TagNone {
			bounded, limit = &q.taggedOthers, maxTaggedOrphans
		}
		if bounded.live >= limit {
			if lostFrame(s) {
				return
			}
			q.remove(bounded.oldest())
		}
	}
	t.b.orphanSeq++
	s.seq = t.b.orphanSeq
	l := q.byClass[classOf(s)]
	if l == nil {
		l = &stayList{}
		q.byClass[classOf(s)] = l
	}
	l.push(s)
	switch {
	case s.task:
		q.tasks.push(s)
	case s.tag != TagNone:
		q.taggedOthers.push(s)
	}
	if t.chainEnds != nil {
		t.indexChainEnd(s)
	}
}

// untaggedOthers returns the list of the untagged orphans that are not
// tasks, empty if there are none.
func (q *orphanQueue) untaggedOthers() *stayList {
	if l := q.byClass[classFor(TagNone, false)]; l != nil {
		return l
	}
	return &stayList{}
}

// remove removes orphan s.
func (q *orphanQueue) remove(s *suspension) {
	c := classOf(s)
	s.seq = 0
	if s.endList != nil {
		s.endList.left()
		s.endList = nil
	}
	// The list stays when empty: there are at most two per tag, and the
	// frame it held is likely to suspend again.
	q.byClass[c].left()
	switch {
	case s.task:
		q.tasks.left()
	case s.tag != TagNone:
		q.taggedOthers.left()
	}
}

// oldestOf returns the oldest orphan of the classes given, nil if none.
func (q *orphanQueue) oldestOf(classes ...orphanClass) *suspension {
	var oldest *suspension
	for _, c := range classes {
		if l := q.byClass[c]; l != nil {
			if o := l.oldest(); o != nil && (oldest == nil || o.seq < oldest.seq) {
				oldest = o
			}
		}
	}
	return oldest
}

// newestOf returns the newest orphan of the classes given, by the time it
// suspended, nil if none; of several, the one whose chain holds the most
// of the frames the next events resume, when the builder knows them (see
// ResumesNext), the newest of those.
func (q *orphanQueue) newestOf(t *ThreadBuilder, classes ...orphanClass) *suspension {
	var newest *suspension
	live := 0
	for _, c := range classes {
		if l := q.byClass[c]; l != nil {
			live += l.live
			if o := l.newest(); o != nil && (newest == nil || o.at > newest.at) {
				newest = o
			}
		}
	}
	if live < 2 || len(t.inner) == 0 {
		return newest
	}
	// The newest first, then the others oldest first, as tasks resume,
	// until one holds the whole chain: a program resuming its frames in
	// either order finds its own at once.
	best, bestDepth := newest, t.innerDepth(newest)
	for _, c := range classes {
		l := q.byClass[c]
		if l == nil || bestDepth == len(t.inner) {
			continue
		}
		l.each(func(o *suspension) bool {
			if d := t.innerDepth(o); d > bestDepth || d == bestDepth && o.at > best.at {
				best, bestDepth = o, d
			}
			return bestDepth < len(t.inner)
		})
	}
	return best
}

// takeOrphan removes and returns the orphan of key and tag that resumes,
// of a task only when tasks is set: of those with the same tag the
// newest, since a frame's address holds one live frame at a time (an
// older one of the same tag is dead, a generator dropped by an
// interpreter that said nothing, or a collision, where any choice is a
// guess); else the oldest untagged one, or, for an event without a tag,
// the oldest of any tag.
func (t *ThreadBuilder) takeOrphan(key frameKey, tag FrameTag, tasks bool) *suspension {
	q := t.orphans[key]
	if q == nil {
		return nil
	}
	var s *suspension
	switch {
	case tag == TagNone && tasks:
		s = q.tasks.oldest()
	case tag == TagNone:
		s = q.oldest()
	case tasks:
		if s = q.newestOf(t, classFor(tag, true)); s == nil {
			s = q.oldestOf(classFor(TagNone, true))
		}
	default:
		if s = q.newestOf(t, classFor(tag, true), classFor(tag, false)); s == nil {
			s = q.oldestOf(classFor(TagNone, true), classFor(TagNone, false))
		}
	}
	if s != nil {
		q.remove(s)
	}
	return s
}

// oldest returns the oldest orphan, nil if none.
func (q *orphanQueue) oldest() *suspension {
	var oldest *suspension
	for _, l := range []*stayList{&q.tasks, q.untaggedOthers(), &q.taggedOthers} {
		if o := l.oldest(); o != nil && (oldest == nil || o.seq < oldest.seq) {
			oldest = o
		}
	}
	return oldest
}

// each calls fn with the orphans, each kind oldest first (tasks, untagged
// others, tagged others), until fn returns false.
func (q *orphanQueue) each(fn func(*suspension) bool) {
	_ = q.tasks.each(fn) && q.untaggedOthers().each(fn) && q.taggedOthers.each(fn)
}

// extract removes and returns an orphan of key and tag, or a suspension
// of them made on the frame of one, and on theirs; nil if none.
func (q *orphanQueue) extract(key frameKey, tag FrameTag) *suspension {
	var found *suspension
	orphan := false
	q.each(func(o *suspension) bool {
		if o.matches(key, tag) {
			found, orphan = o, true
			return false
		}
		found = takeAmong(&o.kids, key, tag)
		return found == nil
	})
	if orphan {
		q.remove(found)
	}
	return found
}

// chargePendingAwaits charges the tasks still suspended when the thread's
// recording ends the await time until then.
func (t *ThreadBuilder) chargePendingAwaits(end int64) {
	var charge func(s *suspension)
	charge = func(s *suspension) {
		if s.leaf && end > s.at {
			s.node.await += end - s.at
			t.b.awaits = true
		}
		for _, k := range s.kids {
			if k.chained {
				charge(k)
			}
		}
	}
	for _, q := range t.orphans {
		q.tasks.each(func(s *suspension) bool {
			charge(s)
			return true
		})
	}
	t.orphans = nil
	if t.chainEnds != nil {
		t.chainEnds = map[chainEnd]*stayList{}
	}
}
