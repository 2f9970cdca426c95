//go:build race

package main

// scriptAddressSpaceKiB is the address space limit the scripts record
// under: the race detector's shadow memory needs more than pyprof.
const scriptAddressSpaceKiB = 2 * addressSpaceKiB
