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
	sampled.graftSampledTasks()
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
		mergeChildren(trace, th.Root, st.Root, mapFunc)
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
func mergeChildren(trace *Profile, dst, src *Node, mapFunc func(FuncID) FuncID) {
	for _, sc := range src.Children {
		f := mapFunc(sc.Func)
		parent, line := dst, sc.CallLine
		if dst.Find(f, line, 0) == nil && dst.Find(f, 0, 0) != nil {
			// The trace has no call line for this call (made from native
			// code: an import statement's, a property's, a generator
			// resumed by a native); the sampler read the caller's line.
			line = 0
		} else if n := trace.viaNative(dst, f, line); n != nil {
			parent, line = n, 0
			n.Total[CPU] += sc.Total[CPU]
			n.Total[Samples] += sc.Total[Samples]
			n.Total[GIL] += sc.Total[GIL]
		}
		dc := parent.ChildAt(f, line, sc.SelfLine)
		dc.Total[CPU] += sc.Total[CPU]
		dc.Total[Samples] += sc.Total[Samples]
		dc.Total[GIL] += sc.Total[GIL]
		mergeChildren(trace, dc, sc, mapFunc)
	}
	// The parent's inclusive totals already count every sampled child's,
	// since src's are inclusive too: nothing to propagate upwards here.
}

// viaNative returns the traced native call through which dst's function
// called f at line, when the trace has f there and not right under dst:
// the sampler sees no native frames (builtins.exec running a module's
// code, sorted calling a key), so a sampled frame called through one
// goes under the native's node, with call line 0 as the trace gives it.
func (p *Profile) viaNative(dst *Node, f FuncID, line int32) *Node {
	if dst.Find(f, line, 0) != nil {
		return nil
	}
	for _, c := range dst.Children {
		if c.CallLine != line || c.SelfLine != 0 || int(c.Func) >= len(p.Funcs) || p.Funcs[c.Func].Kind != KindNative {
			continue
		}
		if c.Find(f, 0, 0) != nil {
			return c
		}
	}
	return nil
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
		d := dst.ChildAt(c.Func, line, c.SelfLine)
		for v := range d.Total {
			d.Total[v] += c.Total[v]
		}
		elide(p, d, c, hide, false)
	}
}
