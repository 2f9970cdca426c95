package flamegraph

import (
	"regexp"
	"testing"
	"time"
)

// TestDiffSaysWhatItCompares checks the head of a differential flame
// graph: the title names the program (or the two programs), the line under
// it the two sides with their recording dates and modes, and the subtitle
// the sample type compared.
func TestDiffSaysWhatItCompares(t *testing.T) {
	monday := time.Date(2026, 11, 30, 9, 5, 0, 0, time.UTC)
	tuesday := monday.Add(24*time.Hour + 2*time.Hour)
	trace := []string{"pyprof 0.1.0, trace mode", "python: 3.12.1 (/usr/bin/python3.12)"}
	tests := []struct {
		name                   string
		baseComments, comments []string
		baseStart, start       time.Time
		baseName, newName      string
		title, sides           string
	}{
		{
			name:         "two recordings of one program",
			baseComments: append([]string{"command: /usr/bin/python3.12 app.py"}, trace...), baseStart: monday,
			comments: append([]string{"command: /usr/bin/python3.12 app.py"}, trace...), start: tuesday,
			baseName: "base.pb.gz", newName: "new.pb.gz",
			title: "Differential Flame Graph: python3.12 app.py",
			sides: "base.pb.gz (2026-11-30 09:05) → new.pb.gz (2026-12-01 11:05); trace mode, Python 3.12.1",
		},
		{
			name:         "two checkouts, one mode each",
			baseComments: []string{"command: python3.12 ../base/app.py", "pyprof 0.1.0, sample mode", "python: 3.12.1"}, baseStart: monday,
			comments: []string{"command: python3.12 app.py", "pyprof 0.1.0, trace mode", "python: 3.12.1"}, start: tuesday,
			baseName: "base.pb.gz", newName: "head.pb.gz",
			title: "Differential Flame Graph: python3.12 ../base/app.py → python3.12 app.py",
			sides: "base.pb.gz (sample mode, 2026-11-30 09:05) → head.pb.gz (trace mode, 2026-12-01 11:05); Python 3.12.1",
		},
		{
			name:         "two checkouts, their programs too long for the title's words",
			baseComments: []string{"command: python3.12 ../base/tools/render_report.py"}, comments: []string{"command: python3.12 tools/render_report.py"},
			title: "python3.12 ../base/tools/render_report.py → python3.12 tools/render_report.py",
			sides: "base → new",
		},
		{
			name:  "profiles that say nothing of themselves, without names",
			title: "Differential Flame Graph",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, cur := singleThread(t), singleThread(t)
			base.Comments, base.Start, cur.Comments, cur.Start = tt.baseComments, tt.baseStart, tt.comments, tt.start
			svg := write(t, cur, Options{Width: 1600, Diff: &DiffInfo{Base: base, BaseName: tt.baseName, NewName: tt.newName}})
			text := func(id string) string {
				m := regexp.MustCompile(`<text id="` + id + `"[^>]*>([^<]*)</text>`).FindStringSubmatch(svg)
				if m == nil {
					return ""
				}
				return m[1]
			}
			if got := text("title"); got != xmlText(tt.title) {
				t.Errorf("title %q, want %q", got, tt.title)
			}
			if got := text("sides"); got != xmlText(tt.sides) {
				t.Errorf("the line under the title %q, want %q", got, tt.sides)
			}
			if got := text("subtitle"); !regexp.MustCompile(`^wall: base \S+, new \S+, change `).MatchString(got) {
				t.Errorf("subtitle %q does not name the sample type compared", got)
			}
		})
	}
}
