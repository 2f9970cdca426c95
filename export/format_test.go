package export

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

func TestFormatFromPath(t *testing.T) {
	tests := []struct {
		path string
		want Format
	}{
		{"out.pb.gz", Pprof},
		{"dir.d/OUT.PB.GZ", Pprof},
		{"cpu.pprof", Pprof},
		{"x.pb", Pprof},
		{"x.folded", Folded},
		{"x.collapsed", Folded},
		{"stacks.txt", Folded},
		{"flame.svg", SVG},
		{"prof.speedscope.json", Speedscope},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := FormatFromPath(tt.path)
			if err != nil || got != tt.want {
				t.Errorf("FormatFromPath(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
			}
		})
	}
	for _, path := range []string{"out.json", "out.gz", "out", ".svg", "svg"} {
		t.Run(path, func(t *testing.T) {
			_, err := FormatFromPath(path)
			want := `cannot tell the format of "` + path + `" from its extension: use --format pprof|folded|svg|speedscope`
			if err == nil || err.Error() != want {
				t.Errorf("FormatFromPath(%q) = %v, want %q", path, err, want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, name := range []string{"pprof", "folded", "svg", "speedscope", "PPROF"} {
		if f, err := ParseFormat(name); err != nil || !strings.EqualFold(string(f), name) {
			t.Errorf("ParseFormat(%q) = %q, %v", name, f, err)
		}
	}
	if _, err := ParseFormat("json"); err == nil || err.Error() != `unknown format "json": use pprof, folded, svg or speedscope` {
		t.Errorf("ParseFormat(json) = %v", err)
	}
}

func TestSniff(t *testing.T) {
	pb := writePprof(t, sampledProfile(), Options{})
	pp := parseBack(t, pb)
	var raw bytes.Buffer
	if err := pp.WriteUncompressed(&raw); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		want    Format
		wantErr string
	}{
		{name: "gzipped pprof", data: pb, want: Pprof},
		{name: "uncompressed pprof", data: raw.Bytes(), want: Pprof},
		{name: "folded", data: []byte("a;b 1\n"), want: Folded},
		{name: "folded after blank lines", data: []byte("\n\r\n<module> (x.py:1);f (x.py:2) 10\n"), want: Folded},
		{name: "folded led by a control character", data: []byte("exec (\x1b[31mx.py:1);f (x.py:2) 5\na;b 1\n"), want: Folded},
		{name: "a NUL is binary, not folded", data: []byte("a\x00b 5\n"), wantErr: `starts with "a\x00b 5"`},
		{name: "folded led by a marker frame", data: []byte("[outer frames cut, 2 kept];f (x.py:2);g (x.py:3) 1\n"), want: Folded},
		{name: "speedscope", data: []byte(`{"$schema": "https://www.speedscope.app/file-format-schema.json", "profiles": []}`), want: Speedscope},
		{name: "other json", data: []byte(`  {"traceEvents": []}`), wantErr: "json without the speedscope schema"},
		{name: "prose", data: []byte("hello world\n"), wantErr: `starts with "hello world"`},
		{name: "empty", data: nil, wantErr: ErrEmpty.Error()},
		{name: "blank", data: []byte(" \n\t\n"), wantErr: ErrEmpty.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(tt.data)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Sniff = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Sniff = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pb := write("profile.bin", writePprof(t, basicProfile(), Options{}))
	folded := write("stacks.log", []byte("a;b 3\na 1\n"))
	garbage := write("out.pb.gz", []byte("hello world\n"))
	empty := write("empty.folded", nil)

	p, err := ReadFile(pb)
	if err != nil || p.Total(callgraph.Wall) != basicProfile().Total(callgraph.Wall) {
		t.Errorf("ReadFile(pprof) = %v", err)
	}
	p, err = ReadFile(folded)
	if err != nil || p.Default != callgraph.Samples || p.Total(callgraph.Samples) != 4 {
		t.Errorf("ReadFile(folded) = %v", err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"garbage", garbage, "reading " + garbage + `: not a pprof, folded or speedscope profile: starts with "hello world"`},
		{"empty", empty, "reading " + empty + ": profile has no samples"},
		{"missing", filepath.Join(dir, "nope"), "open " + filepath.Join(dir, "nope") + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFile(tt.path)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ReadFile = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := ReadFile(empty); !errors.Is(err, ErrEmpty) {
		t.Errorf("ReadFile(empty) = %v, want ErrEmpty", err)
	}
}

func TestRegisterReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(path, []byte(`{"$schema": "`+speedscopeSchema+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// This test binary links the speedscope package, which registers its
	// reader: take it out for the test and put it back after.
	readersMu.Lock()
	linked := readers[Speedscope]
	delete(readers, Speedscope)
	readersMu.Unlock()
	t.Cleanup(func() {
		readersMu.Lock()
		readers[Speedscope] = linked
		readersMu.Unlock()
	})
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), "reading speedscope profiles is not supported") {
		t.Errorf("ReadFile before registering = %v", err)
	}
	want := basicProfile()
	RegisterReader(Speedscope, func(io.Reader) (*callgraph.Profile, error) { return want, nil })
	if got, err := ReadFile(path); err != nil || got != want {
		t.Errorf("ReadFile after registering = %v, %v", got, err)
	}
	if got := readable(); got != "pprof, folded or speedscope" {
		t.Errorf("readable() = %q", got)
	}
}
