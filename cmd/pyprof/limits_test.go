package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/export"
)

// TestLimitsDocumented checks that pyprof help states the bounds the
// readers enforce.
func TestLimitsDocumented(t *testing.T) {
	help := strings.Join(strings.Fields(manual()), " ")
	for _, want := range []string{
		strconv.Itoa(export.MaxProfileBytes>>20) + " MiB",
		count(export.MaxTreeNodes) + " calling contexts",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("pyprof help does not say %q", want)
		}
	}
}
