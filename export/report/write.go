package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/view"
)

// DefaultTop is the number of rows Write shows when Options.Top is 0.
const DefaultTop = 20

// Options choose what Write shows and how.
type Options struct {
	// Top is the number of rows; 0 means DefaultTop, negative every row.
	Top int
	// Sort is one of SortOrders; empty means SortFlat.
	Sort string
	// Thread keeps only the threads with this name; empty keeps all.
	Thread string
	// Value is the quantity to report; nil means the profile's Default.
	Value *callgraph.Value
	// Aligned writes a table for people: padded columns, human units and
	// a summary line. Otherwise Write emits tab-separated raw numbers under
	// a header line, for other tools.
	Aligned bool
	// Width, when positive, fits aligned rows into that many columns:
	// files are shortened to the path components that tell them apart,
	// then function names cut from the left.
	Width int
	// Idle keeps the time pools and event loops spend waiting for work
	// where it happened; by default it is apart (view.FoldIdle), in no
	// row and not in the total, and the summary says how much.
	Idle bool
}

func (o Options) value(p *callgraph.Profile) callgraph.Value {
	if o.Value != nil {
		return *o.Value
	}
	return p.Default
}

func (o Options) top(n int) int {
	switch {
	case o.Top == 0:
		return min(n, DefaultTop)
	case o.Top < 0:
		return n
	}
	return min(n, o.Top)
}

// Write writes the top functions of p as a table.
func Write(w io.Writer, p *callgraph.Profile, opts Options) error {
	p = apart(p, opts.value(p), opts.Idle)
	t, err := Functions(p, opts.value(p), opts.Thread)
	if err != nil {
		return err
	}
	by := opts.Sort
	if by == "" {
		by = SortFlat
	}
	if err := t.Sort(by); err != nil {
		return err
	}
	shown := t.Rows[:opts.top(len(t.Rows))]
	hasCalls := p.Has(callgraph.Calls)
	bw := bufio.NewWriter(w)
	if opts.Aligned {
		writeWrapped(bw, fmt.Sprintf("Showing %d of %d functions by %s; %s total %s%s%s",
			len(shown), len(t.Rows), by, valueName(t.Value), glue(Human(t.Value, t.Total)), idleSuffix(t.Value, opts.Idle), threadNote(opts.Thread)), opts.Width)
		if note := gluedIdleNote(t.Value, t.Idle); note != "" {
			writeWrapped(bw, note, opts.Width)
		}
		if len(t.Rows) == 0 {
			// A sampled run that read nothing writes a profile of nothing.
			fmt.Fprintf(bw, "\nno %s was recorded\n", valueName(t.Value))
			return flush(bw)
		}
		cells := alignedCells(t, shown, hasCalls)
		if opts.Width > 0 {
			cells = fitWidth(cells, opts.Width)
		}
		// Numbers right-aligned; the function left (the location, last,
		// is not padded).
		right := make([]bool, len(cells[0])-1)
		for i := range right[:len(right)-1] {
			right[i] = true
		}
		writeColumns(bw, cells, right)
	} else {
		writeTSV(bw, t, shown, hasCalls)
	}
	return flush(bw)
}

func threadNote(thread string) string {
	if thread == "" {
		return ""
	}
	return ` in thread "` + Printable(thread) + `"`
}

// alignedCells formats rows for people. The location is the last cell so
// that a long path does not widen every line.
func alignedCells(t *Table, rows []Row, hasCalls bool) [][]string {
	out := [][]string{{"flat", "flat%", "sum%", "cum", "cum%", "calls", "per call", "function", "location"}}
	var sum int64
	for _, r := range rows {
		sum += r.Flat
		calls, per := "-", "-"
		if hasCalls && countsCalls(r.Func, r.Calls) {
			calls = humanCalls(r)
			if r.PrimCalls > 0 {
				per = humanFloat(t.Value, float64(r.Cum)/float64(r.PrimCalls))
			}
		}
		out = append(out, []string{
			Human(t.Value, r.Flat), sharePercent(r.Flat, t.Total), sharePercent(sum, t.Total),
			Human(t.Value, r.Cum), sharePercent(r.Cum, t.Total), calls, per,
			Printable(r.Func.Name), Printable(location(r.Func)),
		})
	}
	return out
}

// countsCalls reports whether f's calls are calls to show. A marker (lost
// events, idle waiting) and a frame that groups others (view.IsGrouping)
// were never called; an import frame counts the imports that went through
// the machinery's _find_and_load, which a module run by its loader
// directly (importlib's exec_module) never does, so 0 says nothing there.
func countsCalls(f callgraph.Func, calls int64) bool {
	switch {
	case f.Kind == callgraph.KindMarker, view.IsGrouping(f):
		return false
	case strings.HasPrefix(f.Name, view.ImportPrefix):
		return calls > 0
	}
	return true
}

// humanCalls shows recursive calls the way pstats does: "total/primitive".
func humanCalls(r Row) string {
	s := Human(callgraph.Calls, r.Calls)
	if r.PrimCalls != r.Calls {
		s += "/" + Human(callgraph.Calls, r.PrimCalls)
	}
	return s
}

func location(f callgraph.Func) string {
	if f.Filename == "" {
		return "-"
	}
	if f.StartLine == 0 {
		return f.Filename
	}
	return f.Filename + ":" + strconv.Itoa(f.StartLine)
}

// writeColumns pads every cell but the last of each line to its column's
// width in terminal columns, right-aligned where right says so.
func writeColumns(w io.Writer, lines [][]string, right []bool) {
	var width []int
	for _, l := range lines {
		for i, c := range l[:len(l)-1] {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], Columns(c))
		}
	}
	for _, l := range lines {
		var b strings.Builder
		for i, c := range l[:len(l)-1] {
			if i < len(right) && right[i] {
				b.WriteString(padLeft(c, width[i]))
			} else {
				b.WriteString(padRight(c, width[i]))
			}
			b.WriteString("  ")
		}
		b.WriteString(l[len(l)-1])
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// writeTSV writes raw numbers: values in the profile's unit, shares in
// percent, calls and primitive calls apart, and the location split into
// file and line. Calls are empty when the profile did not count them, the
// line when it is unknown.
func writeTSV(w io.Writer, t *Table, rows []Row, hasCalls bool) {
	fmt.Fprintln(w, "flat\tflat%\tsum%\tcum\tcum%\tcalls\tprimitive_calls\tper_call\tfunction\tfile\tline")
	var sum int64
	for _, r := range rows {
		sum += r.Flat
		calls, prim, per := "", "", ""
		if hasCalls {
			calls, prim = strconv.FormatInt(r.Calls, 10), strconv.FormatInt(r.PrimCalls, 10)
			if r.PrimCalls > 0 {
				per = raw(float64(r.Cum) / float64(r.PrimCalls))
			}
		}
		line := ""
		if r.Func.StartLine != 0 {
			line = strconv.Itoa(r.Func.StartLine)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Flat, rawPercent(r.Flat, t.Total), rawPercent(sum, t.Total), r.Cum, rawPercent(r.Cum, t.Total),
			calls, prim, per, tsvField(r.Func.Name), tsvField(r.Func.Filename), line)
	}
}

func raw(x float64) string {
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
}

func rawPercent(part, whole int64) string {
	if whole == 0 {
		return ""
	}
	return raw(100 * float64(part) / float64(whole))
}

// tsvField keeps a name on its line and in its column, and the terminal
// it may end up on out of it.
func tsvField(s string) string {
	return Printable(s)
}
