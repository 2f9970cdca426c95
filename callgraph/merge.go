package callgraph

// MergeSamples folds a sampled profile into a traced one of the same run
// (hybrid mode): exact calls and wall time stay the trace's; samples and
// CPU time, and the lines at which leaves were executing, come from the
// samples. Threads are matched by native id, functions by name, file and
// first line, and paths by their functions and call lines; sampled paths
// the trace never saw (a frame it hid, say) are added as they are.
//
// The traced profile must not have measured CPU itself: that time would be
// counted twice.
func MergeSamples(trace, sampled *Profile) {
	funcs := map[Func]FuncID{}
	for id, f := range trace.Funcs {
		funcs[f] = FuncID(id)
	}
	mapFunc := func(id FuncID) FuncID {
		f := sampled.Funcs[id]
		if mapped, ok := funcs[f]; ok {
			return mapped
		}
		mapped := trace.AddFunc(f)
		funcs[f] = mapped
		return mapped
	}
	byID := map[int64]*Thread{}
	for _, th := range trace.Threads {
		byID[th.ID] = th
	}
	for _, st := range sampled.Threads {
		th := byID[st.ID]
		if th == nil {
			th = &Thread{ID: st.ID, Name: st.Name, PID: st.PID, Root: &Node{}}
			trace.Threads = append(trace.Threads, th)
			byID[st.ID] = th
		}
		mergeChildren(th.Root, st.Root, mapFunc)
	}
	for _, v := range []Value{CPU, Samples, GIL} {
		if sampled.Has(v) && !trace.Has(v) {
			trace.Values = append(trace.Values, v)
		}
	}
	trace.Period = sampled.Period
	trace.Lost += sampled.Lost
	trace.CPUUnplaced += sampled.CPUUnplaced
	trace.fitSamplesToTrace()
}

// mergeChildren adds the CPU and sample totals of src's children under
// dst. A sampled leaf that carries its executing line (SelfLine) becomes
// its own node beside the traced one, as the sampler builds it, so the
// line survives into the profile.
func mergeChildren(dst, src *Node, mapFunc func(FuncID) FuncID) {
	for _, sc := range src.Children {
		f := mapFunc(sc.Func)
		var dc *Node
		if sc.SelfLine != 0 {
			dc = &Node{Func: f, CallLine: sc.CallLine, SelfLine: sc.SelfLine, Parent: dst}
			dst.Children = append(dst.Children, dc)
		} else {
			dc = dst.Child(f, sc.CallLine)
		}
		dc.Total[CPU] += sc.Total[CPU]
		dc.Total[Samples] += sc.Total[Samples]
		dc.Total[GIL] += sc.Total[GIL]
		mergeChildren(dc, sc, mapFunc)
	}
	// The parent's inclusive totals already count every sampled child's,
	// since src's are inclusive too: nothing to propagate upwards here.
}

// Elide removes the frames of functions for which hide is true, giving
// their children to their parents (merged with any they already had). The
// sampler sees pyprof's own start-up frames, which the trace hides.
func (p *Profile) Elide(hide func(Func) bool) {
	for _, th := range p.Threads {
		root := &Node{Total: th.Root.Total}
		elide(p, root, th.Root, hide, false)
		th.Root = root
	}
}

// elide copies src's children under dst, splicing out hidden ones. A frame
// called from a hidden one loses its call line, a line of code no profile
// shows, as the trace gives it none (a call from a transparent frame): so
// the script's <module>, run by pyprof's start-up code, is one node in a
// hybrid profile, not a traced one and a sampled one.
func elide(p *Profile, dst, src *Node, hide func(Func) bool, fromHidden bool) {
	for _, c := range src.Children {
		if hide(p.Funcs[c.Func]) {
			elide(p, dst, c, hide, true)
			continue
		}
		line := c.CallLine
		if fromHidden {
			line = 0
		}
		var d *Node
		if c.SelfLine != 0 {
			d = &Node{Func: c.Func, CallLine: line, SelfLine: c.SelfLine, Parent: dst}
			dst.Children = append(dst.Children, d)
		} else {
			d = dst.Child(c.Func, line)
		}
		for v := range d.Total {
			d.Total[v] += c.Total[v]
		}
		elide(p, d, c, hide, false)
	}
}
