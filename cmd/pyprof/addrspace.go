package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// addressSpaceKiB is the address space limit (ulimit -v, in KiB) pyprof
// needs to record. Most of it the Go runtime reserves as it starts, before
// main: the heap's page summaries and scavenger index take about 1.1 GiB
// on 64-bit Linux, and the rest grows with the recording (heap arenas of
// 64 MiB, and with cgo a thread stack of RLIMIT_STACK for each thread of
// the runtime). Below it the runtime dies with a stack trace, as it starts
// or as its heap grows: here pyprof failed at 1,800,000 KiB once its heap
// passed 50 MB, and recorded every program tried at 2,000,000 KiB; 2 GiB
// keeps a margin above that.
// The rings pyprof reads cost it no address space (ring.Shared). (A build
// with the race detector, the tests', needs more for its shadow memory:
// 2,500,000 KiB was enough.)
const addressSpaceKiB = 2 << 20

// startAddressSpaceKiB is the limit the other commands (version, help,
// report, dump, ...) need: enough for the runtime to start. Below it the
// runtime's start failed or not depending on the limit, not only on its
// size: here it died at 1,300,000 and, one time in three, at 1,420,000
// KiB, and started every time from 1,450,000 KiB up.
const startAddressSpaceKiB = 1536 << 10

// The check runs twice: in C before the Go runtime starts where pyprof is
// built with cgo (addrspace_cgo.go), which catches every limit too low,
// and here, first thing in Go, for a build without cgo (the wheel's),
// which catches those the runtime survived.
func init() {
	if err := checkAddressSpace(addressSpaceFloor(os.Args)); err != nil {
		os.Exit(exitCode(os.Stderr, err))
	}
}

// addressSpaceFloor is the address space the command in args (pyprof's
// command line) needs: record, and the consumer of a region recorded from
// Python, record; the others only start.
func addressSpaceFloor(args []string) uint64 {
	if len(args) > 1 && (args[1] == "record" || args[1] == "_consume") {
		return addressSpaceKiB
	}
	return startAddressSpaceKiB
}

// checkAddressSpace says, in the words of the C check, when the address
// space limit is below need KiB.
func checkAddressSpace(need uint64) error {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &r); err != nil || r.Cur == unix.RLIM_INFINITY || r.Cur/1024 >= need {
		return nil
	}
	return profilerEnv(fmt.Errorf("the address space limit (ulimit -v) is %d KiB; pyprof needs %d KiB, most of it "+
		"reserved by its Go runtime as it starts: raise the limit to %d or more, or run pyprof outside it",
		r.Cur/1024, need, need))
}
