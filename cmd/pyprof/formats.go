package main

// The formats beyond pprof and folded stacks register their writers and
// readers with export when linked in; these imports link every one pyprof
// writes and reads, whichever command runs.
import (
	_ "github.com/pyprof/pyprof/export/flamegraph"
	_ "github.com/pyprof/pyprof/export/speedscope"
)
