// Package sample is pyprof's sampling profiler: it reads the Python stacks
// of another process from outside, at a fixed rate, and aggregates them
// into a callgraph.Profile. No agent runs in the target and the target is
// never stopped.
//
// # Attaching
//
// Attach reads /proc/PID/maps, finds libpython (or a static python
// executable), looks up _PyRuntime, Py_Version and the type objects in its
// ELF symbols and adds the load bias. Memory is read with
// process_vm_readv, which needs ptrace access (a *PermissionError says so).
// Interpreters older than 3.12 are refused with an *UnsupportedVersionError,
// as are free-threaded builds of 3.14 and later (each thread runs its own
// copy of the bytecode) and later versions whose layout this build cannot
// read; the error names the version.
//
// Layouts: 3.13+ carries _Py_DebugOffsets at the start of _PyRuntime and
// the walker takes its offsets from there (plus a few derived ones); the
// struct changes with each minor version, and this build mirrors those of
// 3.13 and 3.14. 3.12 has no such table and uses a built-in one. A version
// after 3.14 is read through the 3.14 mirror when its table fits it (same
// cookie, its own version, every offset inside its struct, the fixed
// object heads where C puts them), without call-site checks, since its
// opcodes are unknown (opcodesUnknown). TestLayoutMatchesHeaders checks
// the layouts against offsetof() computed by gcc from each installed
// interpreter's internal headers; TestWalkMatchesInterpreter compares
// what the walker reads with what the interpreter itself reports, which
// also checks 3.14, whose headers are not installed here.
//
// # Walking
//
// A sample walks interpreters, their thread states and each thread's
// frame chain, skipping frames owned by the C stack and frames that have
// not started (as _PyFrame_IsIncomplete does). From 3.14 on a frame's code
// is a tagged _PyStackRef, whose tag bits are cleared. Each frame's line comes
// from its instruction pointer and the code object's location table
// (DecodeLineTable, checked against co_lines() and co_positions() of each
// interpreter). Code objects are decoded once and cached by address,
// validated on every sample by their header (type, name and table
// pointers, size, first line), since addresses are reused after free.
//
// Reads are few: a thread's current data stack chunk, where its frames
// live, is copied in one read, and every code header of a stack is read in
// one call together with a second read of the whole frame chain and of the
// thread's current frame. Two reads can agree on a mix, since frames are
// reused at the same addresses, so every frame with a Python callee must
// also be suspended in a call: its stack pointer saved and its instruction
// pointer at a call site, found by decoding the code object's bytecode
// once (opcodes.go). If anything differs or a caller is not in a call, the
// stack is read again (at most three times) and then dropped: a stack that
// changed while read is never returned (TestNoImpossibleStacks,
// TestCallSites). A dropped stack keeps the outer frames that were the same
// in both reads of the last try (outerFrames): on call-heavy code most
// stacks move within the ~20 us a read takes, and charging them all to the
// root biased the profile toward code whose stack stands still. Across
// samples the
// reader replays the previous sample's reads in a single call (see
// memReader), so a stable stack costs one process_vm_readv.
//
// # Threads
//
// Each ThreadStack has the native thread id, whether the thread was on CPU
// ('R' in /proc/PID/task/TID/stat), its CPU time (schedstat), and whether
// it held the GIL (the GIL's last_holder while it is locked). Thread names
// are not in CPython's thread state, so Name is left empty for the caller
// to fill from elsewhere.
//
// # Profiles
//
// Run samples at Options.Rate on a drift-free grid, counting missed ticks,
// and returns a profile whose values are samples, wall and CPU time. The
// time of missed ticks is shared out between the samples around each gap
// by the threads' scheduler clocks (Builder), since a sampler that gets
// no CPU tends to wake when the program sleeps. See
// Builder for how nodes are keyed: callers are keyed by (function, call
// line), and the newest frame by (function, call line, executing line) so
// that a function sampled at several lines keeps them apart (Node.SelfLine).
// Functions are interned by (module, filename, qualname, first line) and
// named "<module>.<qualname>" (callgraph.FuncName), the module being the
// __name__ its function object recorded when it was made (func_module,
// read once per code object from the function of a frame running it), or
// guessed from the file name when that cannot be read.
//
// Typical use, as `pyprof record --mode sample` does:
//
//	p, err := sample.AttachWait(ctx, pid) // or Attach for --pid
//	if err != nil { ... }
//	defer p.Close()
//	prof, stats, err := sample.Run(ctx, p, sample.Options{Rate: 100, Idle: true, Duration: d})
//	if errors.Is(err, sample.ErrProcessExited) { err = nil } // prof holds what was sampled
package sample
