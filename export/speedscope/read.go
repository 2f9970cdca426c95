package speedscope

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
)

// Read parses a speedscope file. Every profile in it becomes a thread.
// Sampled profiles give one value: the one named in a pyprof file's name,
// else wall time for time units and samples for "none". Evented profiles
// give calls and wall time: each open event is a call, and the time
// between a frame's open and close events is its inclusive wall time.
//
// A file past export.MaxProfileBytes is export.ErrTooLarge, and values that
// add up past an int64, in nanoseconds or counts, are refused.
func Read(r io.Reader) (*callgraph.Profile, error) {
	var f file
	in := &io.LimitedReader{R: r, N: export.MaxProfileBytes + 1}
	err := json.NewDecoder(in).Decode(&f)
	if in.N <= 0 {
		return nil, fmt.Errorf("reading speedscope: %w: the file holds more than %d MiB, more than pyprof reads", export.ErrTooLarge, export.MaxProfileBytes>>20)
	}
	if err != nil {
		return nil, fmt.Errorf("reading speedscope: %w", err)
	}
	if err := checkTotals(&f); err != nil {
		return nil, fmt.Errorf("reading speedscope: %w", err)
	}
	p, err := convert(&f)
	if err != nil {
		return nil, fmt.Errorf("reading speedscope: %w", err)
	}
	return p, nil
}

func convert(f *file) (*callgraph.Profile, error) {
	if f.Schema != Schema {
		return nil, fmt.Errorf("$schema is %q, not %q", f.Schema, Schema)
	}
	v, err := valueOf(f)
	if err != nil {
		return nil, err
	}
	c := newConverter(f.Shared.Frames, v)
	for i, prof := range f.Profiles {
		if err := c.add(prof, i); err != nil {
			return nil, fmt.Errorf("profile %d (%s): %w", i, prof.Name, err)
		}
	}
	return c.p, nil
}

var pyprofName = regexp.MustCompile(`^pyprof (\w+) profile$`)

// valueOf picks the value of a file's profiles, which must agree on what
// they measure.
func valueOf(f *file) (callgraph.Value, error) {
	if m := pyprofName.FindStringSubmatch(f.Name); m != nil {
		if v, ok := callgraph.ValueByType(m[1]); ok {
			return v, nil
		}
	}
	v := callgraph.Value(-1)
	for i, prof := range f.Profiles {
		pv, err := profileValue(prof)
		if err != nil {
			return 0, fmt.Errorf("profile %d (%s): %w", i, prof.Name, err)
		}
		if v >= 0 && pv != v {
			return 0, fmt.Errorf("profile %d (%s) measures %s, profile 0 %s", i, prof.Name, pv.Info().Type, v.Info().Type)
		}
		v = pv
	}
	if v < 0 {
		return 0, errors.New("no profiles")
	}
	return v, nil
}

func profileValue(prof *profile) (callgraph.Value, error) {
	_, timed := unitScale[prof.Unit]
	switch {
	case prof.Type == typeEvented && timed:
		return callgraph.Wall, nil
	case prof.Type == typeEvented:
		return 0, fmt.Errorf("evented profile in unit %q: only time units are supported", prof.Unit)
	case prof.Type != typeSampled:
		return 0, fmt.Errorf("unknown profile type %q", prof.Type)
	case timed:
		return callgraph.Wall, nil
	case prof.Unit == "none":
		return callgraph.Samples, nil
	}
	return 0, fmt.Errorf("unit %q is not supported", prof.Unit)
}

var threadIDs = regexp.MustCompile(`^(.*) \[(?:pid (\d+) )?tid (\d+)\]$`)

// newThread makes the thread of the i-th profile, with the ids Write put
// in its name, or i+1 for files from elsewhere.
func newThread(name string, i int) *callgraph.Thread {
	t := &callgraph.Thread{ID: int64(i + 1), Name: name, Root: &callgraph.Node{}}
	if m := threadIDs.FindStringSubmatch(name); m != nil {
		t.Name = m[1]
		t.PID, _ = strconv.ParseInt(m[2], 10, 64)
		t.ID, _ = strconv.ParseInt(m[3], 10, 64)
	}
	return t
}

// checkTotals refuses a file whose values, converted as scale converts
// them, add up past an int64: every total the profile holds or a report
// computes (a frame's, a function's, a thread's) is a sum of some of them.
// A profile's duration must fit too.
func checkTotals(f *file) error {
	var sum int64
	add := func(unit string, x float64) bool {
		n, ok := scaledMagnitude(unit, x)
		if !ok || sum > math.MaxInt64-n {
			return false
		}
		sum += n
		return true
	}
	for i, prof := range f.Profiles {
		_, ok := scaledMagnitude(prof.Unit, prof.EndValue-prof.StartValue)
		if prof.Type == typeEvented {
			ok = ok && forEachSpan(prof, func(d float64) bool { return add(prof.Unit, d) })
		}
		for _, w := range prof.Weights {
			if w < 0 {
				return fmt.Errorf("profile %d (%s): a sample weighs %v: weights are amounts, never negative", i, prof.Name, w)
			}
			ok = ok && add(prof.Unit, w)
		}
		if !ok {
			return fmt.Errorf("profile %d (%s): values add up past %d, which pyprof cannot count", i, prof.Name, int64(math.MaxInt64))
		}
	}
	return nil
}

// scaledMagnitude is |x| as scale converts it, and whether that fits in
// an int64.
func scaledMagnitude(unit string, x float64) (int64, bool) {
	if s, ok := unitScale[unit]; ok {
		x *= s
	}
	x = math.Round(math.Abs(x))
	if !(x < math.MaxInt64) { // 2^63 as a float64; NaN fails too
		return 0, false
	}
	return int64(x), true
}

// forEachSpan calls span with the length of every span between an open
// event and its close, frames still open closing at the end as addEvents
// closes them, until span returns false. Events addEvents refuses are
// skipped: it says what is wrong with them.
func forEachSpan(prof *profile, span func(float64) bool) bool {
	var opened []float64
	last := math.Inf(-1)
	for _, e := range prof.Events {
		last = max(last, e.At)
		switch {
		case e.Type == eventOpen:
			opened = append(opened, e.At)
		case e.Type == eventClose && len(opened) > 0:
			if !span(e.At - opened[len(opened)-1]) {
				return false
			}
			opened = opened[:len(opened)-1]
		}
	}
	for _, at := range opened {
		if !span(max(prof.EndValue, last) - at) {
			return false
		}
	}
	return true
}

// scale converts a profile's numbers to the model's: nanoseconds for
// time, counts otherwise.
func scale(unit string, x float64) int64 {
	if s, ok := unitScale[unit]; ok {
		x *= s
	}
	return int64(math.Round(x))
}
