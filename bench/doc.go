// Package bench holds pyprof's benchmarks: `go test -bench . ./bench/`
// measures the Go side, from ring records to a written profile, and `go run
// ./bench/overhead` measures whole Python programs unprofiled, under
// cProfile and under pyprof. The workloads/ folder holds the harness's own
// small programs.
package bench
