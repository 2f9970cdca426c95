package callgraph

// NextRegion readies b, once Finish has returned one region's profile, to
// build the next region of the same process (pyprof's Python API records
// regions of a program that keeps running between them). The agent
// defines each code object and callable once per process, so the
// definitions stay. The threads in live go on: their decoders hold them
// and keep feeding them, so each is emptied in place, as NewThread would
// make it, keeping its id and name; every other thread is forgotten. Lost
// events and the timeline start over.
func (b *Builder) NextRegion(live []*ThreadBuilder) {
	b.threads = b.threads[:0]
	for _, t := range live {
		if t == nil || t.b != b {
			continue
		}
		// The CPU clock's last reading stays: the next one measures from it.
		*t = ThreadBuilder{ID: t.ID, Name: t.Name, b: t.b, p: t.p, cpuTick: t.cpuTick, cpuNanos: t.cpuNanos}
		b.threads = append(b.threads, t)
	}
	b.lost = 0
	if b.timeline != nil {
		b.timeline.spans = nil
	}
}
