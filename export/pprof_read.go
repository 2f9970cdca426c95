package export

import (
	"fmt"
	"io"
	"time"

	"github.com/google/pprof/profile"
	"github.com/pyprof/pyprof/callgraph"
)

// ReadPprof reads a pprof profile, gzipped or not, written by pyprof or any
// other tool, into call trees.
//
// Sample types named calls, wall, cpu, samples and gil become those Values (time
// types in any unit from nanoseconds to seconds); other types are dropped.
// When no type is known, as in a heap profile, the FIRST sample type is read
// as Samples so that any profile can be looked at. Samples are grouped into
// threads by their "thread" and "thread_id" labels, or into one thread "all"
// when they have neither. Each sample's values are its leaf's self values; a
// node reached by samples at several leaf lines (Go CPU profiles) keeps the
// first as its SelfLine, since the model has one.
//
// A profile with sample types but no sample (sampling that read nothing)
// is a profile of nothing, with no thread; one without even sample types,
// or no data at all, is ErrEmpty. Input past MaxProfileBytes, gunzipped or
// not, is ErrTooLarge, and so are values that add up past an int64.
func ReadPprof(r io.Reader) (*callgraph.Profile, error) {
	data, err := readAllBounded(r, "the pprof")
	if err != nil {
		return nil, fmt.Errorf("reading pprof: %w", err)
	}
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	if data, err = gunzipBounded(data); err != nil {
		return nil, err
	}
	if err := checkPprofRecords(data); err != nil {
		return nil, err
	}
	in, err := profile.ParseData(data)
	if err != nil {
		return nil, err // already says "parsing profile: ..."
	}
	cols := valueColumns(in.SampleType)
	if len(cols) == 0 {
		return nil, ErrEmpty
	}
	rd := newPprofReader(in, cols)
	for _, s := range in.Sample {
		if err := rd.addSample(s); err != nil {
			return nil, err
		}
	}
	return rd.tree.prof, nil
}

// valueColumn maps one sample type onto a Value.
type valueColumn struct {
	index int
	value callgraph.Value
	scale int64 // to the Value's unit
	// source is the sample type as "type/unit" when it is not the Value
	// itself (a heap profile's alloc_space/bytes read as samples).
	source string
}

// valueColumns maps the sample types it knows, the first of each Value
// winning, or else the first type onto Samples.
func valueColumns(types []*profile.ValueType) []valueColumn {
	var cols []valueColumn
	var seen [callgraph.NumValues]bool
	for i, st := range types {
		v, ok := callgraph.ValueByType(st.Type)
		if !ok || seen[v] {
			continue
		}
		scale, ok := unitScale(v, st.Unit)
		if !ok {
			continue
		}
		seen[v] = true
		cols = append(cols, valueColumn{i, v, scale, countSource(v, st)})
	}
	if len(cols) == 0 && len(types) > 0 {
		cols = append(cols, valueColumn{0, callgraph.Samples, 1, types[0].Type + "/" + types[0].Unit})
	}
	return cols
}

// countSource names a count read under its own name but in another unit
// (samples/bytes), which is not what pyprof counts; times convert.
func countSource(v callgraph.Value, st *profile.ValueType) string {
	if v.Info().Unit != "count" || st.Unit == "count" || st.Unit == "" {
		return ""
	}
	return st.Type + "/" + st.Unit
}

// unitScale returns the factor from unit to v's own unit. Counts are counts
// whatever they are called; times must be in a unit it can convert.
func unitScale(v callgraph.Value, unit string) (int64, bool) {
	if v.Info().Unit != "nanoseconds" {
		return 1, true
	}
	switch unit {
	case "nanoseconds", "ns":
		return 1, true
	case "microseconds", "us":
		return int64(time.Microsecond), true
	case "milliseconds", "ms":
		return int64(time.Millisecond), true
	case "seconds", "s":
		return int64(time.Second), true
	}
	return 0, false
}

// pprofReader turns samples into stacks for the tree builder.
type pprofReader struct {
	in      *profile.Profile
	cols    []valueColumn
	tree    *treeBuilder
	threads map[threadKey]*callgraph.Thread
	funcs   map[*profile.Function]callgraph.FuncID
	addrs   map[*profile.Location]callgraph.FuncID // locations without lines
	path    []Frame
	sums    valueSums
}

// threadKey tells the threads of a pprof apart by their labels.
type threadKey struct {
	name    string
	id, pid int64
}

func newPprofReader(in *profile.Profile, cols []valueColumn) *pprofReader {
	values := make([]callgraph.Value, len(cols))
	for i, c := range cols {
		values[i] = c.value
	}
	tree := newTreeBuilder(values, defaultValue(in, cols))
	for _, c := range cols {
		tree.prof.SourceTypes[c.value] = c.source
	}
	tree.prof.Duration = time.Duration(in.DurationNanos)
	tree.prof.Comments = in.Comments
	if in.TimeNanos != 0 {
		tree.prof.Start = time.Unix(0, in.TimeNanos)
	}
	if in.PeriodType != nil && in.PeriodType.Unit == "nanoseconds" {
		tree.prof.Period = time.Duration(in.Period)
	}
	return &pprofReader{
		in:      in,
		cols:    cols,
		tree:    tree,
		threads: make(map[threadKey]*callgraph.Thread),
		funcs:   make(map[*profile.Function]callgraph.FuncID),
		addrs:   make(map[*profile.Location]callgraph.FuncID),
	}
}

// defaultValue is the Value of the default sample type, or, as in pprof,
// of the last type when there is none.
func defaultValue(in *profile.Profile, cols []valueColumn) callgraph.Value {
	for _, c := range cols {
		if in.SampleType[c.index].Type == in.DefaultSampleType {
			return c.value
		}
	}
	return cols[len(cols)-1].value
}

func (rd *pprofReader) addSample(s *profile.Sample) error {
	var self [callgraph.NumValues]int64
	for _, c := range rd.cols {
		x := s.Value[c.index]
		if x*c.scale/c.scale != x {
			st := rd.in.SampleType[c.index]
			return fmt.Errorf("%s value %d %s overflows an int64 in nanoseconds", st.Type, x, st.Unit)
		}
		self[c.value] = x * c.scale
	}
	if err := rd.sums.add(&self); err != nil {
		return err
	}
	rd.path = rd.path[:0]
	if err := CheckStackDepth(len(s.Location)); err != nil {
		return err
	}
	for i := len(s.Location) - 1; i >= 0; i-- {
		rd.addLocation(s.Location[i])
	}
	if err := CheckStackDepth(len(rd.path)); err != nil {
		return err // inlined lines made it deeper
	}
	rd.tree.addStack(rd.thread(s), rd.path, &self)
	return nil
}

// addLocation appends the frames of loc, root first: a location with
// several lines holds inlined calls, the caller last.
func (rd *pprofReader) addLocation(loc *profile.Location) {
	if len(loc.Line) == 0 {
		rd.path = append(rd.path, Frame{Func: rd.addressFunc(loc)})
		return
	}
	for j := len(loc.Line) - 1; j >= 0; j-- {
		ln := loc.Line[j]
		rd.path = append(rd.path, Frame{rd.function(ln.Function), int32(ln.Line)})
	}
}

func (rd *pprofReader) function(fn *profile.Function) callgraph.FuncID {
	if id, ok := rd.funcs[fn]; ok {
		return id
	}
	name := fn.Name
	if name == "" {
		name = fn.SystemName
	}
	id := rd.tree.prof.AddFunc(callgraph.Func{
		Name:      name,
		Filename:  fn.Filename,
		StartLine: int(fn.StartLine),
		Kind:      callgraph.KindOf(name, fn.Filename, true),
	})
	rd.funcs[fn] = id
	return id
}

// addressFunc names an unsymbolized location by its address.
func (rd *pprofReader) addressFunc(loc *profile.Location) callgraph.FuncID {
	if id, ok := rd.addrs[loc]; ok {
		return id
	}
	id := rd.tree.prof.AddFunc(callgraph.Func{Name: fmt.Sprintf("0x%x", loc.Address), Kind: callgraph.KindNative})
	rd.addrs[loc] = id
	return id
}

// thread returns the thread of s's labels, adding it on first sight.
func (rd *pprofReader) thread(s *profile.Sample) *callgraph.Thread {
	k, ok := threadKey{}, false
	if v := s.Label[labelThread]; len(v) > 0 {
		k.name, ok = v[0], true
	}
	if v := s.NumLabel[labelThreadID]; len(v) > 0 {
		k.id, ok = v[0], true
	}
	if v := s.NumLabel[labelPID]; len(v) > 0 {
		k.pid = v[0]
	}
	if !ok {
		k = threadKey{name: "all"}
	}
	t, found := rd.threads[k]
	if !found {
		t = rd.tree.addThread(k.id, k.name, k.pid)
		rd.threads[k] = t
	}
	return t
}
