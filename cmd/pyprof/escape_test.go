package main

import (
	"strings"
	"testing"

	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/sample"
)

// TestWriteDumpEscapes checks that names read from the process, which
// its code chose, reach the terminal escaped.
func TestWriteDumpEscapes(t *testing.T) {
	code := &sample.Code{Filename: "/srv/\x1b]0;TITLE\x07.py", Qualname: "evil\x1b[2J\u009b1m"}
	d := &profiler.Dump{PID: 40, Version: sample.Version{Major: 3, Minor: 12, Micro: 1}, Threads: []sample.ThreadStack{
		{TID: 40, Name: "Main\x1b[31m", Frames: []sample.Frame{{Code: code, Line: 3}}},
	}}
	var b strings.Builder
	writeDump(&b, d)
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07\u009b") {
		t.Errorf("raw control characters in:\n%q", out)
	}
	for _, want := range []string{
		`Thread 40 Main\x1b[31m (idle)`,
		`  File "/srv/\x1b]0;TITLE\x07.py", line 3, in \x1b]0;TITLE\x07.evil\x1b[2J\u009b1m`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %s:\n%s", want, out)
		}
	}
}
