package report

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Printable returns s with what a terminal would act on instead of print
// escaped: C0 control characters (tab and newline included), DEL and bytes
// that are not UTF-8 as \xNN, C1 control characters as \u00NN, and the
// bidirectional formatting characters as \uNNNN (a right-to-left override
// makes a name read backwards and the columns after it too). Function,
// file and thread names come from profiles and processes that anyone may
// have made, and "\x1b]0;TITLE\x07" printed raw would retitle the terminal;
// every line pyprof prints for people goes through here.
func Printable(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			b.WriteString(`\x`)
			writeHex(&b, uint64(s[i]), 2)
		case r >= 0x80 && r <= 0x9f, bidiControl(r):
			b.WriteString(`\u`)
			writeHex(&b, uint64(r), 4)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsEscape is the fast path: most names have nothing to escape.
func needsEscape(s string) bool {
	for _, r := range s { // a byte that is not UTF-8 reads as RuneError
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == utf8.RuneError || bidiControl(r) {
			return true
		}
	}
	return false
}

// bidiControl reports the characters that reorder the text around them:
// the embeddings, overrides and isolates, and the marks.
func bidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

func writeHex(b *strings.Builder, x uint64, digits int) {
	h := strconv.FormatUint(x, 16)
	b.WriteString(strings.Repeat("0", digits-len(h)) + h)
}
