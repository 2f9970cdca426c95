//go:build !race

package main

// scriptAddressSpaceKiB is the address space limit the scripts record
// under: the least pyprof needs.
const scriptAddressSpaceKiB = addressSpaceKiB
