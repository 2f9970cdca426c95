package agent

import (
	"fmt"
	"os"
	"testing"

	"github.com/pyprof/pyprof/internal/testpython"
)

// TestMain makes a CPython 3.14 available on PATH before any test looks
// for interpreters (All), extracting one when none is installed, so that
// the agent's tests run on it too; without it they run on the others.
func TestMain(m *testing.M) {
	if _, err := testpython.Provide314(); err != nil {
		fmt.Fprintf(os.Stderr, "agent tests: %v\n", err)
	}
	os.Exit(m.Run())
}
