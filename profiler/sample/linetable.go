package sample

import (
	"errors"
	"fmt"
)

// NoLine is the line of code that has no source location: code 15 entries
// of the location table, which co_lines() reports as None.
const NoLine = -1

// Position is the source span of a run of code units, as co_positions()
// reports it; a field is -1 where Python says None.
type Position struct {
	Line, EndLine, Col, EndCol int
}

// LineEntry is one entry of a decoded location table: code units
// [Start, End) have position Pos. Units are 2-byte _Py_CODEUNITs; multiply
// by 2 for co_lines() byte offsets.
type LineEntry struct {
	Start, End int
	Pos        Position
}

// LineTable is a decoded co_linetable (Objects/locations.md, 3.11+).
type LineTable struct {
	FirstLine int
	Entries   []LineEntry
	// ends and lines repeat Entries' End and Pos.Line compactly for Line,
	// which the walker calls for every frame of every sample.
	ends, lines []int32
}

// location entry kinds, _PyCodeLocationInfoKind in pycore_code.h.
const (
	locShortMax  = 9  // 0-9: short form, column in the code and one byte
	locOneLine0  = 10 // 10-12: one line form, line delta code-10, two bytes
	locNoColumns = 13 // line delta as svarint, no columns
	locLong      = 14 // svarint line delta, varint end line delta, columns
	locNone      = 15 // no location
)

// maxLineTableEntries bounds the decoding of hostile input; a code object
// has at most one entry per code unit and code is far smaller than this.
const maxLineTableEntries = 1 << 20

var errLineTable = errors.New("malformed line table")

// DecodeLineTable decodes the co_linetable bytes of a code object whose
// co_firstlineno is firstLine. It never panics: malformed input (a table
// cut short, a varint running into the next entry) is an error.
func DecodeLineTable(table []byte, firstLine int) (LineTable, error) {
	t := LineTable{FirstLine: firstLine}
	d := lineDecoder{b: table, line: firstLine}
	for d.pos < len(d.b) {
		if len(t.Entries) >= maxLineTableEntries {
			return t, fmt.Errorf("%w: more than %d entries", errLineTable, maxLineTableEntries)
		}
		e, err := d.next()
		if err != nil {
			return t, err
		}
		t.Entries = append(t.Entries, e)
		t.ends = append(t.ends, int32(e.End))
		t.lines = append(t.lines, int32(e.Pos.Line))
	}
	return t, nil
}

// lineDecoder walks the entries of a table, tracking the line that deltas
// apply to and the first code unit of the next entry.
type lineDecoder struct {
	b    []byte
	pos  int
	line int
	unit int
}

func (d *lineDecoder) next() (LineEntry, error) {
	first := d.b[d.pos]
	if first&0x80 == 0 {
		return LineEntry{}, fmt.Errorf("%w: byte %d (%#x) does not start an entry", errLineTable, d.pos, first)
	}
	d.pos++
	code := int(first>>3) & 15
	e := LineEntry{Start: d.unit, End: d.unit + int(first&7) + 1}
	d.unit = e.End
	var err error
	e.Pos, err = d.position(code)
	return e, err
}

// position decodes the bytes after an entry's first byte. Line deltas apply
// to the line of the previous entry that had one, starting at firstLine: a
// code 15 entry leaves it unchanged (codeobject.c, get_line_delta).
func (d *lineDecoder) position(code int) (Position, error) {
	switch {
	case code <= locShortMax:
		b, err := d.byte()
		col := code*8 + int(b>>4&7)
		return Position{d.line, d.line, col, col + int(b&15)}, err
	case code < locNoColumns:
		d.line += code - locOneLine0
		col, err1 := d.byte()
		end, err2 := d.byte()
		return Position{d.line, d.line, int(col), int(end)}, errors.Join(err1, err2)
	case code == locNoColumns:
		delta, err := d.svarint()
		d.line += delta
		return Position{d.line, d.line, -1, -1}, err
	case code == locLong:
		return d.long()
	}
	return Position{NoLine, NoLine, -1, -1}, nil
}

func (d *lineDecoder) long() (Position, error) {
	delta, err1 := d.svarint()
	d.line += delta
	endDelta, err2 := d.varint()
	col, err3 := d.varint()
	endCol, err4 := d.varint()
	p := Position{d.line, d.line + endDelta, col - 1, endCol - 1}
	return p, errors.Join(err1, err2, err3, err4)
}

// byte reads one continuation byte (most significant bit clear).
func (d *lineDecoder) byte() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, fmt.Errorf("%w: entry cut short at byte %d", errLineTable, d.pos)
	}
	b := d.b[d.pos]
	if b&0x80 != 0 {
		return 0, fmt.Errorf("%w: entry cut short at byte %d", errLineTable, d.pos)
	}
	d.pos++
	return b, nil
}

// varint reads an unsigned integer in 6-bit chunks, least significant
// first, bit 6 set on every chunk but the last (Objects/locations.md).
func (d *lineDecoder) varint() (int, error) {
	val := 0
	for shift := 0; ; shift += 6 {
		if shift > 30 {
			return 0, fmt.Errorf("%w: varint too long at byte %d", errLineTable, d.pos)
		}
		b, err := d.byte()
		if err != nil {
			return 0, err
		}
		val |= int(b&63) << shift
		if b&64 == 0 {
			return val, nil
		}
	}
}

// svarint reads a signed varint: the sign in the lowest bit, the magnitude
// above it.
func (d *lineDecoder) svarint() (int, error) {
	u, err := d.varint()
	if u&1 != 0 {
		return -(u >> 1), err
	}
	return u >> 1, err
}

// Line returns the line of the code unit at index unit (byte offset / 2),
// as PyCode_Addr2Line does: firstLine before the first unit, NoLine for a
// unit past the table or in an entry without location.
func (t *LineTable) Line(unit int) int {
	if unit < 0 {
		return t.FirstLine
	}
	// The first entry ending after unit (sort.Search, without the
	// closure).
	lo, hi := 0, len(t.ends)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int(t.ends[mid]) <= unit {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(t.ends) {
		return NoLine
	}
	return int(t.lines[lo])
}
