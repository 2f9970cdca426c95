// Package ring reads the per-thread single-producer rings the agent writes
// in shared memory. The ring logic reads through io.ReaderAt, so it is
// tested on plain byte slices; Shared is the shell that maps a memfd's
// header and control blocks and reads its rings with pread.
package ring
