package report

import (
	"fmt"
	"io"
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

// glue joins the words of s so that wrap keeps them on one line.
func glue(s string) string {
	return strings.ReplaceAll(s, " ", glueMark)
}

// glueMark is a space that does not break a line. A NUL: no printed name
// holds one (Printable escapes it).
const glueMark = "\x00"

// wrap breaks text at its spaces into lines of at most width columns, the
// lines after the first indented by indent; words glued together stay on
// one line, which is wider than width only when they alone are.
func wrap(text string, width int, indent string) []string {
	var lines []string
	line := ""
	for _, word := range strings.Split(text, " ") {
		word = strings.ReplaceAll(word, glueMark, " ")
		switch {
		case line == "":
			line = word
		case Columns(line+" "+word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = indent + word
		}
	}
	return append(lines, line)
}

// writeWrapped writes text as wrap breaks it into width columns, the lines
// after the first indented by two spaces; width 0 writes it on one line.
func writeWrapped(w io.Writer, text string, width int) {
	if width <= 0 {
		fmt.Fprintln(w, strings.ReplaceAll(text, glueMark, " "))
		return
	}
	for _, line := range wrap(text, width, "  ") {
		fmt.Fprintln(w, line)
	}
}
