package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// Names a program may give its functions, files and threads, which a
// terminal draws wider or narrower than they have runes.
const (
	cjkName       = "app.計算する.集計"                       // each CJK character takes two columns
	combiningName = "app.cafe\u0301.re\u0301sume\u0301" // each accent combines with the letter before it
	emojiName     = "app.🚀.launch_🚀"                    // an emoji takes two columns
)

func TestColumns(t *testing.T) {
	tests := []struct {
		name string
		s    string
		want int
	}{
		{"ascii", "app.main", 8},
		{"cjk", "計算", 4},
		{"combining accents", "cafe\u0301", 4},
		{"emoji", "🚀", 2},
		{"emoji joined into one glyph", "👩\u200d💻", 2},
		{"marks pyprof prints", "…×", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Columns(tt.s); got != tt.want {
				t.Errorf("Columns(%q) = %d, want %d", tt.s, got, tt.want)
			}
		})
	}
}

// TestShortenLeftColumns: a name cut to a width takes at most that many
// columns on a terminal, whatever its characters, and keeps its end.
func TestShortenLeftColumns(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		width int
		end   string
	}{
		{"ascii", "json.encoder.JSONEncoder.encode", 20, "JSONEncoder.encode"},
		{"cut on a dot", "concurrent.futures._base.Executor.map", 17, "..Executor.map"},
		{"cjk", cjkName, 12, "集計"},
		{"cjk cut inside a character", cjkName, 11, "集計"},
		{"combining accents", combiningName, 12, "re\u0301sume\u0301"},
		{"emoji", emojiName, 12, "launch_🚀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ShortenLeft(tt.s, tt.width)
			if n := Columns(got); n > tt.width {
				t.Errorf("ShortenLeft(%q, %d) = %q, %d columns", tt.s, tt.width, got, n)
			}
			if !strings.HasSuffix(got, tt.end) {
				t.Errorf("ShortenLeft(%q, %d) = %q, lost its end %q", tt.s, tt.width, got, tt.end)
			}
		})
	}
}

// wideProfile has functions and a file whose names draw wider or narrower
// than their runes, beside plain ones.
func wideProfile(t *testing.T) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn(cjkName, "/srv/アプリ/計算.py", 3, callgraph.KindPython).
		Fn(combiningName, "/srv/app/cafe\u0301.py", 5, callgraph.KindPython).
		Fn(emojiName, "/srv/app/rocket.py", 7, callgraph.KindPython).
		Fn("app.plain_function_name", "/srv/app/app.py", 9, callgraph.KindPython).
		Add(t, "MainThread", "app.plain_function_name@10;"+cjkName, 3, 40*ms).
		Add(t, "MainThread", "app.plain_function_name@11;"+combiningName, 2, 30*ms).
		Add(t, "MainThread", "app.plain_function_name@12;"+emojiName, 1, 20*ms).Profile
}

// TestWriteAlignsWideNames: the table's location column starts at the
// same terminal column on every row, and no row is wider than the
// terminal.
func TestWriteAlignsWideNames(t *testing.T) {
	for _, width := range []int{0, 80, 100} {
		var out bytes.Buffer
		if err := Write(&out, wideProfile(t), Options{Aligned: true, Width: width}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")[1:]
		at := -1
		for _, line := range lines {
			i := strings.LastIndex(line, "  ")
			if i < 0 {
				t.Fatalf("width %d: no location in %q", width, line)
			}
			col := Columns(line[:i])
			if at < 0 {
				at = col
			}
			if col != at {
				t.Errorf("width %d: the location starts at column %d, not %d as on the header:\n%s", width, col, at, out.String())
			}
			if width > 0 && Columns(line) > width {
				t.Errorf("width %d: a row of %d columns: %q", width, Columns(line), line)
			}
		}
	}
}
