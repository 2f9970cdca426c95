package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestAddressSpaceCheckIsOne: where the address space limit is checked in
// C before the Go runtime starts, it is checked against the same limit,
// and fails with the same status, as in Go; pyprof help gives that limit.
func TestAddressSpaceCheckIsOne(t *testing.T) {
	if !strings.Contains(manual(), strconv.Itoa(addressSpaceKiB)+" KiB") {
		t.Errorf("pyprof help does not give the %d KiB of address space pyprof needs", addressSpaceKiB)
	}
	if !addressSpaceCheckedInC {
		t.Skip("built without cgo: the limit is checked in Go alone")
	}
	if cAddressSpaceKiB != addressSpaceKiB || cAddressSpaceExit != exitEnv {
		t.Errorf("the C check needs %d KiB and exits %d; the Go one %d KiB and %d", cAddressSpaceKiB, cAddressSpaceExit, addressSpaceKiB, exitEnv)
	}
}
