package export

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/google/pprof/profile"
	"github.com/pyprof/pyprof/callgraph"
)

// Label keys on every pprof sample. Keys beginning "pprof::" are reserved,
// so these stay plain.
const (
	labelThread   = "thread"
	labelThreadID = "thread_id"
	labelPID      = "pid"
)

// WritePprof writes p as a gzipped pprof profile: one sample per calling
// context carrying the node's self values (its own count for calls; contexts
// a cut at Options.MaxDepth makes look alike share a sample), sample
// types in p.Values order, and the thread on labels "thread", "thread_id" and,
// for other processes, "pid". A label pprof cannot carry (an empty name, an
// id of 0) is left out; a thread with neither reads back as "all". Function
// and location ids follow the walk, so the same profile always gives the same
// bytes.
func WritePprof(w io.Writer, p *callgraph.Profile, opts Options) error {
	out, err := buildPprof(p, opts)
	if err != nil {
		return fmt.Errorf("writing pprof: %w", err)
	}
	// profile.Write does not validate; a broken table would only show up
	// when someone opens the file.
	if err := out.CheckValid(); err != nil {
		return fmt.Errorf("writing pprof: %w", err)
	}
	gz := takeCompressor(w)
	defer giveBackCompressor(gz)
	if err := out.WriteUncompressed(gz); err != nil {
		return fmt.Errorf("writing pprof: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("writing pprof: %w", err)
	}
	return nil
}

// pprofBuilder interns functions and locations as the walk streams by, the
// way runtime/pprof does, so each gets its id on first use.
type pprofBuilder struct {
	p       *callgraph.Profile
	walker  *Walker
	out     *profile.Profile
	mapping *profile.Mapping
	funcs   []*profile.Function // by FuncID, nil until first used
	locs    map[Frame]*profile.Location
	// recent remembers the location at each path position: consecutive
	// paths share most frames, so most lookups skip the map.
	recent []recentLocation
	values []int64 // scratch for one node's self values
	// stacks merges equal stacks of one thread; samples holds the sample
	// of each of its nodes.
	stacks  *pathTrie
	samples []*profile.Sample
	// Samples and their slices come from slabs: one allocation per
	// thousands of samples instead of three per sample.
	sampleSlab slab[profile.Sample]
	locSlab    slab[*profile.Location]
	valSlab    slab[int64]
}

type recentLocation struct {
	frame Frame
	loc   *profile.Location
}

func buildPprof(p *callgraph.Profile, opts Options) (*profile.Profile, error) {
	if len(p.Values) == 0 {
		return nil, errors.New("profile measured no values")
	}
	b := &pprofBuilder{
		p:      p,
		walker: NewWalker(p, opts),
		out:    newPprof(p),
		locs:   make(map[Frame]*profile.Location),
		values: make([]int64, len(p.Values)),
		stacks: newPathTrie(),
	}
	// One mapping that says symbols are already there, so pprof does not
	// try to symbolize addresses that do not exist (as fgprof does).
	b.mapping = &profile.Mapping{ID: 1, HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
	b.out.Mapping = []*profile.Mapping{b.mapping}
	var labels threadLabels
	err := b.walker.Walk(func(t *callgraph.Thread, n *callgraph.Node, path Path) {
		if labels.thread != t {
			labels = newThreadLabels(t, b.stacks.newRoot())
		}
		b.addSample(n, path, labels)
	})
	return b.out, err
}

// newPprof returns a profile with p's header: sample types, time and period.
func newPprof(p *callgraph.Profile) *profile.Profile {
	out := &profile.Profile{DurationNanos: p.Duration.Nanoseconds(), Comments: slices.Clone(p.Comments)}
	for _, v := range p.Values {
		info := v.Info()
		out.SampleType = append(out.SampleType, &profile.ValueType{Type: info.Type, Unit: info.Unit})
	}
	out.DefaultSampleType = p.Values[0].Info().Type
	if p.Has(p.Default) {
		out.DefaultSampleType = p.Default.Info().Type
	}
	if !p.Start.IsZero() {
		out.TimeNanos = p.Start.UnixNano()
	}
	if p.Period != 0 {
		out.Period = p.Period.Nanoseconds()
		out.PeriodType = &profile.ValueType{Type: periodType(p), Unit: "nanoseconds"}
	}
	return out
}

// periodType tells which clock the sampler ticked on: CPU time when the
// profile measured it, wall time otherwise.
func periodType(p *callgraph.Profile) string {
	if p.Has(callgraph.CPU) {
		return callgraph.CPU.Info().Type
	}
	return callgraph.Wall.Info().Type
}

// threadLabels are shared by all samples of one thread: profile.Write only
// reads them, and a thread can have millions of samples.
type threadLabels struct {
	thread *callgraph.Thread
	root   int32 // of the thread's stacks in pprofBuilder.stacks
	str    map[string][]string
	num    map[string][]int64
}

// newThreadLabels leaves out empty names and zero numbers: pprof's decoder
// drops such labels anyway, so a reader never sees them.
func newThreadLabels(t *callgraph.Thread, root int32) threadLabels {
	l := threadLabels{thread: t, root: root, str: map[string][]string{}, num: map[string][]int64{}}
	if t.Name != "" {
		l.str[labelThread] = []string{t.Name}
	}
	if t.ID != 0 {
		l.num[labelThreadID] = []int64{t.ID}
	}
	if t.PID != 0 {
		l.num[labelPID] = []int64{t.PID}
	}
	return l
}

// addSample adds n's self values to the sample of its stack, unless they are
// all zero. Nodes share a stack only when a cut leaves their innermost frames
// alike (or siblings differ only by an unknown call line); pprof would merge
// such samples in every view anyway, and a deep recursion shrinks to a
// single sample for all its cut paths. The path is built only for a
// sample: building every cut path takes the depth times the cut's frames.
func (b *pprofBuilder) addSample(n *callgraph.Node, path Path, labels threadLabels) {
	if !b.selfValues(n) {
		return
	}
	frames := path.Frames()
	node := b.stackNode(frames, labels.root)
	b.samples = growTo(b.samples, int(node)+1)
	if s := b.samples[node]; s != nil {
		for i, x := range b.values {
			s.Value[i] += x
		}
		return
	}
	b.samples[node] = b.newSample(len(frames), labels)
}

// selfValues puts n's self values in b.values and reports whether any is
// not zero.
func (b *pprofBuilder) selfValues(n *callgraph.Node) bool {
	nonzero := false
	for i, v := range b.p.Values {
		b.values[i] = n.Self(v)
		nonzero = nonzero || b.values[i] != 0
	}
	return nonzero
}

// stackNode interns path's locations, leaving them in b.recent, and returns
// the node of their sequence among the thread's stacks.
func (b *pprofBuilder) stackNode(path []Frame, root int32) int32 {
	b.recent = growTo(b.recent, len(path))
	b.stacks.start(root, len(path))
	for i, f := range path {
		b.stacks.step(i, int32(b.location(i, f).ID))
	}
	return b.stacks.node()
}

// newSample adds a sample of b.values at the n locations stackNode left in
// b.recent.
func (b *pprofBuilder) newSample(n int, labels threadLabels) *profile.Sample {
	s := &b.sampleSlab.take(1)[0]
	*s = profile.Sample{
		Location: b.locSlab.take(n),
		Value:    b.valSlab.take(len(b.values)),
		Label:    labels.str,
		NumLabel: labels.num,
	}
	copy(s.Value, b.values)
	for i, r := range b.recent[:n] {
		s.Location[n-1-i] = r.loc // pprof lists the leaf first
	}
	b.out.Sample = append(b.out.Sample, s)
	return s
}

// location returns the one location of frame f, seen at position i of a path.
func (b *pprofBuilder) location(i int, f Frame) *profile.Location {
	if r := b.recent[i]; r.loc != nil && r.frame == f {
		return r.loc
	}
	loc, ok := b.locs[f]
	if !ok {
		loc = &profile.Location{
			ID:      uint64(len(b.out.Location) + 1),
			Mapping: b.mapping,
			Line:    []profile.Line{{Function: b.function(f.Func), Line: int64(f.Line)}},
		}
		b.out.Location = append(b.out.Location, loc)
		b.locs[f] = loc
	}
	b.recent[i] = recentLocation{f, loc}
	return loc
}

// function returns the one pprof function of id.
func (b *pprofBuilder) function(id callgraph.FuncID) *profile.Function {
	b.funcs = growTo(b.funcs, int(id)+1)
	if fn := b.funcs[id]; fn != nil {
		return fn
	}
	f := b.walker.Func(id)
	fn := &profile.Function{
		ID:         uint64(len(b.out.Function) + 1),
		Name:       f.Name,
		SystemName: f.Name,
		Filename:   f.Filename,
		StartLine:  int64(f.StartLine),
	}
	if f.Kind == callgraph.KindMarker {
		// A marker is no symbol. pprof demangles a function whose name
		// equals its system name, and takes a name with <...> for C++ to
		// strip of its template arguments: <pyprof: ...> came out empty,
		// shown as <unknown>. A name that differs from the system name
		// counts as demangled already and is shown as it is.
		fn.SystemName = ""
	}
	b.out.Function = append(b.out.Function, fn)
	b.funcs[id] = fn
	return fn
}

// growTo returns s with at least n elements, keeping its contents.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// slab hands out slices of large chunks, for many small slices that live
// as long as each other. The chunks grow from small to slabMax elements:
// a first chunk of the largest size cost a short program's profile 2 MB
// of memory to clear and some milliseconds of its writing.
type slab[T any] struct {
	chunk []T
	size  int // of the last chunk made
}

const (
	slabMin = 64
	slabMax = 1 << 14
)

// take returns n zeroed elements whose capacity ends at n, so that appending
// to them can never write into a neighbour.
func (s *slab[T]) take(n int) []T {
	if n > len(s.chunk) {
		s.size = min(max(2*s.size, slabMin), slabMax)
		s.chunk = make([]T, max(n, s.size))
	}
	out := s.chunk[:n:n]
	s.chunk = s.chunk[n:]
	return out
}

// spareCompressor is a gzip writer made ahead of need (PrepareWriters). A
// compressor holds about a megabyte of tables that a new process must
// allocate and zero: 2-4 ms on the machines measured, paid after the
// program ended unless made while it ran.
var spareCompressor struct {
	sync.Mutex
	gz *gzip.Writer
}

// PrepareWriters makes what writing a pprof profile needs, so that
// writing it costs less after the recording ends. pyprof record calls it
// in the background while the program runs.
func PrepareWriters() {
	spareCompressor.Lock()
	defer spareCompressor.Unlock()
	if spareCompressor.gz == nil {
		spareCompressor.gz = newCompressor()
	}
}

// newCompressor compresses fast: profile.Write's default level costs a
// large profile more time than the recording's end is worth, for a few
// percent of size. The empty write makes flate allocate its tables now.
func newCompressor() *gzip.Writer {
	gz, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	_, _ = gz.Write(nil)
	return gz
}

func takeCompressor(w io.Writer) *gzip.Writer {
	spareCompressor.Lock()
	gz := spareCompressor.gz
	spareCompressor.gz = nil
	spareCompressor.Unlock()
	if gz == nil {
		gz = newCompressor()
	}
	gz.Reset(w)
	return gz
}

func giveBackCompressor(gz *gzip.Writer) {
	gz.Reset(io.Discard)
	spareCompressor.Lock()
	spareCompressor.gz = gz
	spareCompressor.Unlock()
}
