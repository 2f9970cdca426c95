package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestAddressSpaceCheckIsOne: where the address space limit is checked in
// C before the Go runtime starts, it is checked against the same limits,
// and fails with the same status, as in Go; pyprof help gives the limits.
func TestAddressSpaceCheckIsOne(t *testing.T) {
	for _, kib := range []int{addressSpaceKiB, startAddressSpaceKiB} {
		if !strings.Contains(manual(), strconv.Itoa(kib)+" KiB") {
			t.Errorf("pyprof help does not give the %d KiB of address space pyprof needs", kib)
		}
	}
	if !addressSpaceCheckedInC {
		t.Skip("built without cgo: the limit is checked in Go alone")
	}
	if cAddressSpaceKiB != addressSpaceKiB || cStartAddressSpaceKiB != startAddressSpaceKiB || cAddressSpaceExit != exitEnv {
		t.Errorf("the C check needs %d KiB (%d to start) and exits %d; the Go one %d KiB (%d) and %d",
			cAddressSpaceKiB, cStartAddressSpaceKiB, cAddressSpaceExit, addressSpaceKiB, startAddressSpaceKiB, exitEnv)
	}
}
