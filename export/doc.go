// Package export writes and reads profile files, pprof and folded stacks,
// choosing the format by the file's extension or, when reading, its content.
package export
