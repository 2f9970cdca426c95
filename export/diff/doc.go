// Package diff compares two profiles of the same program, BASE and NEW:
// per-function changes of flat and cumulative values and of calls, a text
// summary, a regression gate for CI, and a differential flame graph.
//
// Functions are matched in five steps. Each step pairs, among the
// functions the steps before left over, those whose key exactly one
// function of each side has; a key that two functions of a side share
// pairs nothing there. The keys are:
//
//  1. name, file and def line;
//  2. name and file, so that an edit that moves a function down its file
//     still compares it with itself;
//  3. name alone, so that runs recorded from two checkouts in different
//     directories compare;
//  4. name, the file's own name without its directory, and def line, which
//     tell apart across checkouts the names that collide in step 3 (two
//     lambdas of one file, __main__.main of two scripts);
//  5. name and the file's own name, for those whose def line moved too.
//
// The functions left after the fifth step are those only one side has.
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
