package sample

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// codeDump is what linetable.py reports of one of its code objects.
type codeDump struct {
	Addr        uint64   `json:"addr"`
	Filename    string   `json:"filename"`
	Qualname    string   `json:"qualname"`
	FirstLineno int      `json:"firstlineno"`
	Lines       [][3]int `json:"lines"`     // co_lines(): start byte, end byte, line (-1: None)
	Positions   [][4]int `json:"positions"` // co_positions() per code unit (-1: None)
}

// TestLineTableAgainstInterpreter decodes, from outside, the co_linetable
// of code objects whose positions the interpreter itself reported, and
// compares line for line and column for column.
func TestLineTableAgainstInterpreter(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		out := filepath.Join(t.TempDir(), "codes.json")
		tg := startTarget(t, py, "linetable.py", out)
		p := attach(t, tg)
		var dumps []codeDump
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &dumps); err != nil {
			t.Fatal(err)
		}
		if len(dumps) < 20 {
			t.Fatalf("%d code objects dumped, want >= 20", len(dumps))
		}
		for _, d := range dumps {
			t.Run(d.Qualname, func(t *testing.T) { checkRemoteCode(t, p, d) })
		}
	})
}

func checkRemoteCode(t *testing.T, p *Process, d codeDump) {
	addr := Addr(d.Addr)
	hdr := make([]byte, p.lay.codeHeaderSize())
	if err := p.mem.read(addr, hdr); err != nil {
		t.Fatal(err)
	}
	ci, err := p.codes.get(addr, hdr, runner{})
	if err != nil {
		t.Fatal(err)
	}
	if ci.Filename != d.Filename || ci.Qualname != d.Qualname || ci.FirstLine != d.FirstLineno {
		t.Errorf("read %q %q %d, want %q %q %d", ci.Filename, ci.Qualname, ci.FirstLine,
			d.Filename, d.Qualname, d.FirstLineno)
	}
	if int(ci.key.units) != len(d.Positions) {
		t.Errorf("code has %d units, co_positions lists %d", ci.key.units, len(d.Positions))
	}
	for _, l := range d.Lines {
		for unit := l[0] / 2; unit < l[1]/2; unit++ {
			if got := ci.lines.Line(unit); got != l[2] {
				t.Errorf("unit %d: line %d, co_lines says %d", unit, got, l[2])
			}
		}
	}
	for unit, want := range d.Positions {
		got, ok := positionAt(&ci.lines, unit)
		if !ok || got != (Position{want[0], want[1], want[2], want[3]}) {
			t.Errorf("unit %d: position %+v (found %v), co_positions says %v", unit, got, ok, want)
		}
	}
}

// positionAt returns the position of a code unit.
func positionAt(t *LineTable, unit int) (Position, bool) {
	for _, e := range t.Entries {
		if unit >= e.Start && unit < e.End {
			return e.Pos, true
		}
	}
	return Position{}, false
}
