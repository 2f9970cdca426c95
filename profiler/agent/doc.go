// Package agent prepares what runs inside the profiled interpreter: it
// finds and probes Python interpreters, provides the C agent (prebuilt and
// embedded for linux/amd64 and linux/arm64, compiled on first use
// elsewhere; one shared object for every CPython 3.12+ with the GIL, built
// without Python.h), the pure-Python twin and the bootstrap, and keeps
// them in a cache folder no other user can reach.
package agent
