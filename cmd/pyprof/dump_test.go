package main

import (
	"strings"
	"testing"

	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/sample"
)

// TestWriteDump pins the traceback layout of pyprof dump, its functions
// named as profiles name them, and what it says of a frame with no line, a
// stack that kept moving and a thread with no Python code.
func TestWriteDump(t *testing.T) {
	app := &sample.Code{Filename: "/srv/app.py", Qualname: "Server.serve", Module: "srv.app"}
	mod := &sample.Code{Filename: "/srv/app.py", Qualname: "<module>", Module: "srv.app"}
	d := &profiler.Dump{PID: 40, Version: sample.Version{Major: 3, Minor: 12, Micro: 1, Hex: 0x030c01f0}, GIL: true,
		Threads: []sample.ThreadStack{
			{TID: 40, Name: "MainThread", HasGIL: true, OnCPU: true, Frames: []sample.Frame{{Code: mod, Line: 30}, {Code: app, Line: 12}}},
			{TID: 41, Dropped: true, Frames: []sample.Frame{{Code: mod, Line: 0}}},
			{TID: 42},
		}}
	var b strings.Builder
	writeDump(&b, d)
	want := `Process 40, Python 3.12.1: 3 threads

Thread 40 MainThread (holds the GIL, on CPU), most recent call last:
  File "/srv/app.py", line 30, in srv.app.<module>
  File "/srv/app.py", line 12, in srv.app.Server.serve

Thread 41 (idle), most recent call last:
  File "/srv/app.py", line ?, in srv.app.<module>
  ... newer frames kept changing while read

Thread 42 (idle): no Python frames
`
	if b.String() != want {
		t.Errorf("dump:\n%s\nwant:\n%s", b.String(), want)
	}
}
