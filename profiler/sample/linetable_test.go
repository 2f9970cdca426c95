package sample

import (
	"errors"
	"reflect"
	"testing"
)

// entry builds the first byte of a location entry.
func entry(code, units int) byte { return byte(0x80 | code<<3 | (units - 1)) }

func TestDecodeLineTable(t *testing.T) {
	tests := []struct {
		name    string
		table   []byte
		first   int
		want    []LineEntry
		wantErr bool
	}{
		{name: "empty", first: 5},
		{
			name:  "short form",
			table: []byte{entry(2, 3), 0x25},
			first: 10,
			want:  []LineEntry{{0, 3, Position{10, 10, 18, 23}}},
		},
		{
			name:  "one line forms",
			table: []byte{entry(11, 1), 4, 9, entry(12, 2), 0, 127, entry(10, 1), 1, 2},
			first: 10,
			want: []LineEntry{
				{0, 1, Position{11, 11, 4, 9}},
				{1, 3, Position{13, 13, 0, 127}},
				{3, 4, Position{13, 13, 1, 2}},
			},
		},
		{
			name:  "negative delta without columns",
			table: []byte{entry(13, 2), 7},
			first: 10,
			want:  []LineEntry{{0, 2, Position{7, 7, -1, -1}}},
		},
		{
			name: "long form with multi-chunk varints",
			// +70 (svarint 140), end +2, columns 200 and 300 (+1 each).
			table: []byte{entry(14, 8), 0x4c, 0x02, 0x02, 0x49, 0x03, 0x6d, 0x04},
			first: 10,
			want:  []LineEntry{{0, 8, Position{80, 82, 200, 300}}},
		},
		{
			name: "no location keeps the line for the next delta",
			table: []byte{entry(13, 1), 2, entry(15, 2), entry(11, 1), 0, 1,
				entry(14, 1), 0x03, 0x00, 0x00, 0x00},
			first: 10,
			want: []LineEntry{
				{0, 1, Position{11, 11, -1, -1}},
				{1, 3, Position{NoLine, NoLine, -1, -1}},
				{3, 4, Position{12, 12, 0, 1}},
				{4, 5, Position{11, 11, -1, -1}},
			},
		},
		{name: "cut short", table: []byte{entry(11, 1), 4}, first: 1, wantErr: true},
		{name: "starts with a continuation byte", table: []byte{0x05}, first: 1, wantErr: true},
		{name: "varint runs into the next entry", table: []byte{entry(13, 1), 0x41, entry(15, 1)}, first: 1, wantErr: true},
		{name: "varint too long", table: []byte{entry(13, 1), 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x01}, first: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeLineTable(tt.table, tt.first)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, errLineTable) {
					t.Errorf("err = %v, want errLineTable", err)
				}
				return
			}
			if !reflect.DeepEqual(got.Entries, tt.want) {
				t.Errorf("entries:\n got %+v\nwant %+v", got.Entries, tt.want)
			}
		})
	}
}

func TestLineTableLine(t *testing.T) {
	lt, err := DecodeLineTable([]byte{entry(0, 2), 0, entry(11, 1), 0, 0, entry(15, 1), entry(13, 3), 3}, 20)
	if err != nil {
		t.Fatal(err)
	}
	for unit, want := range map[int]int{-1: 20, 0: 20, 1: 20, 2: 21, 3: NoLine, 4: 20, 6: 20, 7: NoLine, 100: NoLine} {
		if got := lt.Line(unit); got != want {
			t.Errorf("Line(%d) = %d, want %d", unit, got, want)
		}
	}
}

// FuzzDecodeLineTable checks that the decoder never panics and that what it
// decodes is well formed: entries tile the code from unit 0 on.
func FuzzDecodeLineTable(f *testing.F) {
	f.Add([]byte{entry(2, 3), 0x25}, 1)
	f.Add([]byte{entry(14, 8), 0x4c, 0x02, 0x02, 0x49, 0x03, 0x6d, 0x04, entry(15, 2)}, 100)
	f.Fuzz(func(t *testing.T, table []byte, first int) {
		lt, _ := DecodeLineTable(table, first)
		unit := 0
		for _, e := range lt.Entries {
			if e.Start != unit || e.End <= e.Start || e.End-e.Start > 8 {
				t.Fatalf("entry %+v after unit %d", e, unit)
			}
			unit = e.End
			if got := lt.Line(e.Start); got != e.Pos.Line {
				t.Fatalf("Line(%d) = %d, entry says %d", e.Start, got, e.Pos.Line)
			}
		}
		if got := lt.Line(unit); got != NoLine {
			t.Fatalf("Line past the table = %d", got)
		}
	})
}
