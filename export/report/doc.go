// Package report writes the top-functions table of a profile: flat and
// cumulative values of one quantity with their shares of the total, calls
// and value per call, for a terminal (aligned, human units) or for other
// tools (tab-separated, raw numbers); and the call tree of each thread
// (WriteTree), heaviest calling context first, small ones folded.
//
// Cumulative values count a function once per path: a recursive function's
// inner frames add nothing to its cumulative value, so no row exceeds the
// total. Calls show as "n/p" in the aligned table when only p of the n calls
// were not recursive, the way Python's pstats shows primitive calls, and
// whole wherever they show (50,001, not 50.0k): every call is counted.
package report
