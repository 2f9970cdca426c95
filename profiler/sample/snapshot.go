package sample

import "time"

// Frame is one Python frame of a sampled stack.
type Frame struct {
	// Code is the frame's function.
	Code *Code
	// Line is the line the frame was executing: for a caller, the line of
	// the call. 0 when the code has no line there.
	Line int
}

// ThreadStack is the stack of one thread at one sample.
type ThreadStack struct {
	// TID is the native thread id (gettid).
	TID int64
	// Name is empty: CPython's thread state does not hold the name that
	// threading gives a thread; callers that know it may fill it in.
	Name string
	// OnCPU is set when the thread was running or runnable ('R' in
	// /proc/PID/task/TID/stat).
	OnCPU bool
	// HasGIL is set when the thread held the GIL; always false when the
	// interpreter has none (Snapshot.GIL).
	HasGIL bool
	// CPUTime is the CPU time the thread has used since it started, from
	// /proc/PID/task/TID/schedstat; 0 when unknown.
	CPUTime time.Duration
	// WaitTime is the time the thread has waited for a CPU while runnable,
	// since it started (schedstat's second field); 0 when unknown.
	WaitTime time.Duration
	// Frames lists the Python frames, root first. Empty for a thread that
	// runs no Python code (or whose stack was dropped).
	Frames []Frame
	// Dropped is set when the stack kept changing while it was read, past
	// the retries. Frames then holds only the outer frames that stood still
	// in the last try (maybe none): the program was inside them, somewhere
	// deeper that is unknown.
	Dropped bool
	// Cut is set when the stack was deeper than MaxDepth: Frames then
	// starts MaxDepth frames below the newest, not at the thread's root.
	Cut bool
}

// Snapshot is one sample of every thread of every interpreter.
type Snapshot struct {
	Time    time.Time
	Threads []ThreadStack
	// GIL is set when the interpreter has a GIL (it is not a free-threaded
	// build), so that ThreadStack.HasGIL means something.
	GIL bool
}
