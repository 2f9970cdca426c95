// Package diff compares two profiles of the same program, BASE and NEW:
// per-function changes of flat and cumulative values and of calls, a text
// summary, a regression gate for CI, and a differential flame graph.
//
// Functions are matched by name, file and def line, then, for those left
// over, by name and file alone when that is unambiguous, so that an edit
// that moves a function down its file still compares it with itself.
//
// # Noise
//
// A difference counts as a regression only when it is larger than the
// noise of the value:
//
//   - calls are exact: any increase counts;
//   - wall and CPU time vary from run to run with scheduling, caches and
//     frequency scaling: differences below max(1% of the larger total,
//     2 ms) are noise;
//   - sample counts are Poisson: a count n varies by about sqrt(n), so the
//     difference of two counts a and b by sqrt(a+b), and differences below
//     two standard deviations, 2*sqrt(a+b), are noise.
package diff
