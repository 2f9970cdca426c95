package report

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// manyCalls is a profile whose counts a rounding table would blur: 50,001
// calls of tick, and a recursive walk called 20,001 times of which one
// was not recursive.
func manyCalls(t *testing.T) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Add(t, "MainThread", "app.main@3;app.tick", 50_001, 9*ms).
		Add(t, "MainThread", "app.main@4;app.walk", 1, 2*ms).
		Add(t, "MainThread", "app.main@4;app.walk@7;app.walk", 20_000, 3*ms).Profile
}

// TestAlignedCallsExact checks that the aligned table shows every count
// whole, in the calls column and as the value when the table is by calls,
// and keeps the function column aligned.
func TestAlignedCallsExact(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		cells map[string][]string // function -> cells that its row must hold
	}{
		{
			name: "calls column",
			opts: Options{Aligned: true},
			cells: map[string][]string{
				"app.tick": {"50,001"},
				"app.walk": {"20,001/1"},
			},
		},
		{
			name: "calls column in a narrow terminal",
			opts: Options{Aligned: true, Width: 60},
			cells: map[string][]string{
				"app.tick": {"50,001"},
				"app.walk": {"20,001/1"},
			},
		},
		{
			name: "by calls",
			opts: Options{Aligned: true, Value: val(callgraph.Calls)},
			cells: map[string][]string{
				"app.tick": {"50,001", "50,001", "50,001"},
				"app.main": {"70,002"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Write(&out, manyCalls(t), tt.opts); err != nil {
				t.Fatal(err)
			}
			checkRowCells(t, out.String(), tt.cells)
			checkFunctionColumn(t, out.String())
		})
	}
}

// checkRowCells checks that the row of each function holds the cells
// given, in that order, among its space-separated fields.
func checkRowCells(t *testing.T, table string, want map[string][]string) {
	t.Helper()
	for fn, cells := range want {
		row := rowOf(table, fn)
		if row == "" {
			t.Errorf("no row for %s in\n%s", fn, table)
			continue
		}
		fields := strings.Fields(row)
		at := 0
		for _, c := range cells {
			i := slices.Index(fields[at:], c)
			if i < 0 {
				t.Errorf("row of %s lacks %q after field %d: %q", fn, c, at, row)
				break
			}
			at += i + 1
		}
	}
}

// rowOf returns the line of table whose function is fn.
func rowOf(table, fn string) string {
	for _, line := range strings.Split(table, "\n") {
		if slices.Contains(strings.Fields(line), fn) {
			return line
		}
	}
	return ""
}

// checkFunctionColumn checks that every row's function starts in the
// column where the header's "function" does.
func checkFunctionColumn(t *testing.T, table string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	header := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, " function ") })
	if header < 0 {
		t.Fatalf("no header line in\n%s", table)
	}
	col := strings.Index(lines[header], " function ") + 1
	for _, l := range lines[header+1:] {
		if len(l) <= col || l[col-2:col] != "  " || l[col] == ' ' {
			t.Errorf("row not aligned to the function column %d:\n%s\n%s", col, lines[header], l)
		}
	}
}
