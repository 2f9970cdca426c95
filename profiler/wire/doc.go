// Package wire decodes the records pyprof's agents write into the rings and
// mirrors the constants of their one definition, profiler/agent/c/wire.h; a
// test checks every constant here against that header.
package wire
