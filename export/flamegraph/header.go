package flamegraph

import (
	"fmt"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
)

// describe makes the default title from what the profile says of its
// recording: the program run, pyprof's mode, the Python and the date, as
// far as the profile knows them; DefaultTitle when it knows none.
func describe(p *callgraph.Profile) string {
	var program, mode, python string
	for _, c := range p.Comments {
		switch {
		case strings.HasPrefix(c, "command: "):
			program = shortCommand(strings.TrimPrefix(c, "command: "))
		case strings.HasPrefix(c, "python: "):
			python, _, _ = strings.Cut(strings.TrimPrefix(c, "python: "), " ")
			python = "Python " + python
		case strings.HasPrefix(c, "pyprof "):
			if _, m, ok := strings.Cut(c, ", "); ok {
				mode = m
			}
		}
	}
	var parts []string
	for _, s := range []string{mode, python} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if !p.Start.IsZero() {
		parts = append(parts, p.Start.Format("2006-01-02 15:04"))
	}
	switch {
	case program != "" && len(parts) > 0:
		return program + " (" + strings.Join(parts, ", ") + ")"
	case program != "":
		return program
	case len(parts) > 0:
		return DefaultTitle + " (" + strings.Join(parts, ", ") + ")"
	}
	return DefaultTitle
}

// shortCommand names the interpreter of a command line by its base name:
// its directory tells nothing a title needs.
func shortCommand(cmd string) string {
	first, rest, _ := strings.Cut(cmd, " ")
	if i := strings.LastIndexByte(first, '/'); i >= 0 && !strings.ContainsAny(first, "'\"") {
		first = first[i+1:]
	}
	return strings.TrimSpace(first + " " + rest)
}

// describeTotals is the subtitle: the sample type and the total, counted
// and worded as the text views count and word them (pyprof report, the
// call tree at exit, diff's summary), so that the numbers on screen agree;
// the idle waiting the graph draws in [idle: …] frames is named apart.
func (pic *picture) describeTotals() string {
	v := pic.value
	var s string
	if pic.opts.Diff != nil {
		s = fmt.Sprintf("%s: base %s, new %s, change %s (%s)", v.Info().Type, report.Human(v, pic.base.work),
			report.Human(v, pic.cur.work), report.HumanDelta(v, pic.cur.work-pic.base.work), change(pic.base.work, pic.cur.work))
	} else {
		s = fmt.Sprintf("%s, total %s", v.Info().Type, report.Human(v, pic.cur.work))
	}
	if pic.threads > 1 {
		s += fmt.Sprintf(", %d threads", pic.threads)
	}
	if pic.lost > 0 {
		s += fmt.Sprintf(", %d lost", pic.lost)
	}
	switch {
	case pic.opts.Diff != nil && (pic.cur.idle > 0 || pic.base.idle > 0):
		s += fmt.Sprintf("; idle, apart from the totals: base %s, new %s, in [idle: …] frames", report.Human(v, pic.base.idle), report.Human(v, pic.cur.idle))
	case pic.cur.idle > 0:
		s += fmt.Sprintf("; idle, apart from the total: %s in [idle: …] frames", report.Human(v, pic.cur.idle))
	}
	return s
}

// change is the change from base to new in percent of base, as diff's
// summary writes it: "new" when base was zero.
func change(base, new int64) string {
	switch {
	case base == new:
		return "0%"
	case base == 0:
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", 100*float64(new-base)/float64(base))
}
