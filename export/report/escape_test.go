package report

import "testing"

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "app.main.<locals>.<lambda>", "app.main.<locals>.<lambda>"},
		{"unicode stays", "façade.größe ☃ ×3", "façade.größe ☃ ×3"},
		{"OSC title", "evil\x1b]0;TITLE\x07", `evil\x1b]0;TITLE\x07`},
		{"CSI clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"tab newline return", "a\tb\nc\rd", `a\x09b\x0ac\x0dd`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"C1 CSI as a rune", "a\u009b2Jb", `a\u009b2Jb`},
		{"C1 NEL", "x\u0085", `x\u0085`},
		{"byte that is not UTF-8", "a\x9b2J", `a\x9b2J`},
		{"replacement character stays", "a\uFFFDb", "a\uFFFDb"},
		{"right-to-left override", "evil\u202egnp.py", `evil\u202egnp.py`},
		{"isolate and mark", "a\u2066b\u200fc", `a\u2066b\u200fc`},
		{"backslash stays", `C:\x1b`, `C:\x1b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Printable(tt.in); got != tt.want {
				t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
