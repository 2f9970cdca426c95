package diff

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
)

// WriteText writes a summary: the totals and the first top changed
// functions (all when top <= 0), in human units.
func (r *Result) WriteText(w io.Writer, top int) error {
	bw := bufio.NewWriter(w)
	v := r.Value
	fmt.Fprintf(bw, "%s: base %s, new %s, change %s (%s); %s\n", v.Info().Type,
		report.Human(v, r.Base), report.Human(v, r.New), report.HumanDelta(v, r.New-r.Base),
		report.ChangePercent(r.Base, r.New), r.noiseNote())
	if changed := r.changed(top); len(changed) > 0 {
		r.writeTable(bw, changed)
	} else {
		fmt.Fprintln(bw, "no function changed")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	return nil
}

func (r *Result) noiseNote() string {
	runs := ""
	if r.BaseRuns > 1 || r.NewRuns > 1 {
		runs = fmt.Sprintf("medians of %d base and %d new runs; ", r.BaseRuns, r.NewRuns)
	}
	if n := r.Noise(r.Base, r.New, r.BaseSpread+r.NewSpread); n > 0 {
		return runs + "noise below " + report.Human(r.Value, n)
	}
	return runs + "exact, no noise"
}

// changed returns the first top functions that changed at all.
func (r *Result) changed(top int) []Func {
	var out []Func
	for _, f := range r.Funcs {
		if top > 0 && len(out) == top {
			break
		}
		if f.Delta() != (Stat{}) {
			out = append(out, f)
		}
	}
	return out
}

// writeTable right-aligns the numbers with tabwriter and pads the function
// names itself, since tabwriter aligns every column the same way.
func (r *Result) writeTable(w io.Writer, funcs []Func) {
	v := r.Value
	width := len([]rune("function"))
	for _, f := range funcs {
		width = max(width, len([]rune(report.Printable(f.Func.Name))))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-len([]rune(s))) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "Δflat\tΔflat%%\tΔcum\tΔcum%%\tΔcalls\tnew flat\tnew cum\t  %s  location\n", pad("function"))
	for _, f := range funcs {
		d := f.Delta()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t  %s  %s\n",
			report.HumanDelta(v, d.Flat), report.ChangePercent(f.Base.Flat, f.New.Flat),
			report.HumanDelta(v, d.Cum), report.ChangePercent(f.Base.Cum, f.New.Cum), r.calls(d.Calls),
			report.Human(v, f.New.Flat), report.Human(v, f.New.Cum), pad(report.Printable(f.Func.Name)), location(f.Func))
	}
	tw.Flush()
}

func (r *Result) calls(d int64) string {
	if !r.HasCalls {
		return "-"
	}
	return report.HumanDelta(callgraph.Calls, d)
}

// location says where f is defined, escaped for a terminal.
func location(f callgraph.Func) string {
	switch {
	case f.Filename == "":
		return "-"
	case f.StartLine == 0:
		return report.Printable(f.Filename)
	}
	return report.Printable(f.Filename) + ":" + strconv.Itoa(f.StartLine)
}
