// Package ring reads the per-thread single-producer rings the agent writes
// in shared memory. The ring logic works on plain byte slices, so it is
// tested without shared memory; Shared is the thin shell that maps a memfd.
package ring
