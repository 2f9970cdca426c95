// Package callgraph holds pyprof's calling-context trees: one tree per thread,
// each node a function called from a particular line of its parent, carrying
// call counts and inclusive wall, CPU and sample totals.
//
// It is the one model between the producers of profiles (the trace-mode
// Builder, the sampler, the readers of pprof and folded files) and every
// exporter. It knows nothing of shared memory, rings or file formats.
package callgraph
