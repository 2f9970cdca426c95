package flamegraph

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/report"
)

// describe makes the default title from what the profile says of its
// recording: the program run, pyprof's mode, the Python and the date, as
// far as the profile knows them; DefaultTitle when it knows none. Where
// that is longer than room characters, the date goes first, then the
// mode (the subtitle and the profile's comments keep them), and only
// then is the title cut.
func describe(p *callgraph.Profile, room int) string {
	r := recordingOf(p)
	var title string
	for _, parts := range [][]string{nonEmpty(r.mode, r.python, r.date), nonEmpty(r.mode, r.python), nonEmpty(r.python)} {
		title = describeWith(r.program, parts)
		if len([]rune(title)) <= room {
			break
		}
	}
	return title
}

// describeWith is the title of program with the facts in parts.
func describeWith(program string, parts []string) string {
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

// recording is what a profile says of how it was recorded; each part is
// empty when the profile does not say (another tool's file).
type recording struct {
	program, mode, python, date string
}

func recordingOf(p *callgraph.Profile) recording {
	var r recording
	for _, c := range p.Comments {
		switch {
		case strings.HasPrefix(c, "command: "):
			r.program = shortCommand(strings.TrimPrefix(c, "command: "))
		case strings.HasPrefix(c, "python: "):
			r.python, _, _ = strings.Cut(strings.TrimPrefix(c, "python: "), " ")
			r.python = "Python " + r.python
		case strings.HasPrefix(c, "pyprof "):
			if _, m, ok := strings.Cut(c, ", "); ok {
				r.mode = m
			}
		}
	}
	if !p.Start.IsZero() {
		r.date = p.Start.Format("2006-01-02 15:04")
	}
	return r
}

// diffTitle names the program compared, or the two programs when the
// sides ran different command lines, after "Differential Flame Graph: "
// when that leaves them room characters, else alone.
func diffTitle(base, new recording, room int) string {
	const title = "Differential Flame Graph"
	programs := cmp.Or(base.program, "?") + " → " + cmp.Or(new.program, "?")
	switch {
	case base.program == "" && new.program == "":
		return title
	case base.program == new.program:
		programs = new.program
	}
	if s := title + ": " + programs; len([]rune(s)) <= room {
		return s
	}
	return programs
}

// diffSides says what the two sides are: the files they came from (or
// "base" and "new") with their recording dates, and the mode and Python
// once when both sides share them, else on each side; "" when neither
// side says anything of itself.
func diffSides(info *DiffInfo, base, new recording) string {
	if info.BaseName == "" && info.NewName == "" && base == (recording{}) && new == (recording{}) {
		return ""
	}
	var shared []string
	if base.mode == new.mode {
		shared = nonEmpty(base.mode)
		base.mode, new.mode = "", ""
	}
	if base.python == new.python {
		shared = append(shared, nonEmpty(base.python)...)
		base.python, new.python = "", ""
	}
	side := func(name string, r recording) string {
		if parts := nonEmpty(r.mode, r.python, r.date); len(parts) > 0 {
			return name + " (" + strings.Join(parts, ", ") + ")"
		}
		return name
	}
	s := side(cmp.Or(info.BaseName, "base"), base) + " → " + side(cmp.Or(info.NewName, "new"), new)
	if len(shared) > 0 {
		s += "; " + strings.Join(shared, ", ")
	}
	return s
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
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
			report.Human(v, pic.cur.work), report.HumanDelta(v, pic.cur.work-pic.base.work), report.ChangePercent(pic.base.work, pic.cur.work))
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
