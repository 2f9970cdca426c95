// Package speedscope writes and reads profiles in speedscope's JSON file
// format (https://www.speedscope.app/file-format-schema.json).
//
// Write emits one "sampled" profile per thread: every calling context with
// a nonzero self value becomes one sample, its root-first stack of indexes
// into the shared frame list weighted by that value. A frame is a function
// at a line (the call site for callers, the executing line for the leaf),
// so speedscope can tell the call sites apart; paths deeper than
// export.DefaultMaxDepth are cut under a marker frame as in every format.
// The unit is "nanoseconds" for time and "none" for counts. The file is
// named "pyprof <value> profile" so that Read knows the value again, and a
// profile is named after its thread, "MainThread [tid 1234]".
//
// Read accepts sampled and evented profiles. Speedscope has no notion of
// function kinds or def lines: a frame with a file is Python code, one
// without is native, and one named "[...]" without a file is a marker.
package speedscope
