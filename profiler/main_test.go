package profiler

import (
	"fmt"
	"os"
	"testing"

	"github.com/pyprof/pyprof/internal/testpython"
)

// no314 says why no CPython 3.14 takes part in the tests, when none does.
var no314 error

// TestMain makes a CPython 3.14 available on PATH before any test looks for
// interpreters (agent.All, Discover), extracting one when none is
// installed; without it the 3.14 legs are skipped (forEachSetup).
func TestMain(m *testing.M) {
	if _, no314 = testpython.Provide314(); no314 != nil {
		fmt.Fprintf(os.Stderr, "profiler tests: %v\n", no314)
	}
	os.Exit(m.Run())
}
