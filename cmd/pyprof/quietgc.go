package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// quietUntil is the memory the garbage collector is kept off until: a
// small program's recording stays under it (threads.py: 4 MB). Not much
// more: a recording that allocates fast touches fresh memory instead of
// reusing collected memory, and page faults cost more than collecting here
// (at 64 MiB, generators.py waited for pyprof in 2 runs of 10).
const quietUntil = 16 << 20

// quietGC keeps the garbage collector off until pyprof first uses
// quietUntil of memory, and leaves it as the environment set it from
// then on. Recording a small program then collects nothing: that saved
// 2-3 ms after the program ended here, where a collection ran while the
// profile was written, and pyprof's work competes for the machine with
// the program's own (on this machine a busy second core slows Python's
// start-up by 13%). A large recording is collected as before once it
// passes quietUntil: the first collection, made at that limit, runs a
// finalizer that turns the collector back on. A GOGC or GOMEMLIMIT the
// user set is left alone.
func quietGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(quietUntil)
	// A pointer-free object of 16 bytes or less may share its block with
	// others, and its finalizer may then never run: this one is larger.
	sentinel := new([64]byte)
	runtime.SetFinalizer(sentinel, func(*[64]byte) {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}
