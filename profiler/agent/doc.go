// Package agent prepares what runs inside the profiled interpreter: it
// finds and probes Python interpreters, compiles the embedded C agent
// against the interpreter's own headers (cached per interpreter and
// compiler), and provides the pure-Python twin and the bootstrap.
package agent
