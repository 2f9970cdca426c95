package report

import (
	"strings"

	"github.com/mattn/go-runewidth"
)

// cells measures text the way a terminal lays it out: a CJK character or
// an emoji takes two columns, a combining accent or a zero-width joiner
// none, and a sequence that draws one glyph (an emoji with its modifiers)
// counts once. go-runewidth carries the Unicode width tables and the
// grapheme clusters that a rule of our own would have to copy and keep up
// to date. Its condition is fixed rather than read from the locale:
// characters of ambiguous width (among them the "…" and "×" pyprof prints)
// count as one column, as terminals outside CJK locales draw them, and the
// same profile prints the same lines wherever it is read.
var cells = &runewidth.Condition{StrictEmojiNeutral: true}

// Columns is the number of terminal columns s takes.
func Columns(s string) int {
	return cells.StringWidth(s)
}

// keepLeft fits s into width columns by cutting its end, which mark
// replaces; mark itself is kept whole when width leaves room for nothing
// else.
func keepLeft(s string, width int, mark string) string {
	if Columns(s) <= width {
		return s
	}
	if width <= Columns(mark) {
		return cells.Truncate(s, width, "")
	}
	return cells.Truncate(s, width, mark)
}

// keepRight fits s into width columns by cutting its front, which mark
// replaces. A wide character cut in half leaves a space, so the result is
// exactly width columns.
func keepRight(s string, width int, mark string) string {
	n := Columns(s)
	if n <= width {
		return s
	}
	if width <= Columns(mark) {
		mark = ""
	}
	return cells.TruncateLeft(s, n-(width-Columns(mark)), mark)
}

// padRight pads s with spaces to width columns; padLeft puts them first.
func padRight(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-Columns(s)))
}

func padLeft(s string, width int) string {
	return strings.Repeat(" ", max(0, width-Columns(s))) + s
}
