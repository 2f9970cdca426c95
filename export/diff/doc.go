// Package diff compares two profiles of the same program, BASE and NEW:
// per-function changes of flat and cumulative values and of calls, a text
// summary, a regression gate for CI, and a differential flame graph.
//
// Functions are matched by name, file and def line, then, for those left
// over, by name and file alone when that is unambiguous, so that an edit
// that moves a function down its file still compares it with itself, then
// by name alone when that is unambiguous, so that runs recorded from two
// checkouts in different directories compare.
//
// Each side may hold several runs of the same program: a function's value
// on a side is then the median of its runs, and how far the runs lay apart
// is part of the noise.
//
// # Noise
//
// A difference counts as a regression only when it is larger than the
// noise of the value, and larger than the spread of the runs (the base
// runs' largest value minus their smallest, plus the same of the new
// runs; nothing with one run a side): two medians of identical code lie
// that far apart only when one side's runs all sit beyond the other's.
//
//   - calls are exact: any increase counts, beyond the runs' spread (a
//     program whose threads race counts its lock calls differently run to
//     run);
//   - wall and CPU time vary from run to run with scheduling, caches and
//     frequency scaling: differences below max(1% of the larger total,
//     2 ms) are noise;
//   - sample counts are Poisson: a count n varies by about sqrt(n), so the
//     difference of two counts a and b by sqrt(a+b), and differences below
//     two standard deviations, 2*sqrt(a+b), are noise.
//
// The gate names the functions that changed before those that moved with
// them: a function doing more work of its own per call, or calling another
// more often per call of its own, comes before the callee called more
// often (its work per call the same) and the callers whose cumulative
// value grew through it.
package diff
