//go:build cgo

package main

/*
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

// addrspace.go's addressSpaceKiB and exitEnv (a test holds them together).
#define PYPROF_ADDRESS_SPACE_KIB 2097152ULL
#define PYPROF_EXIT_ENVIRONMENT 3

// check_address_space runs before the Go runtime starts (a constructor of
// the executable), so that an address space limit too low for it gets
// addrspace.go's one line and exit status 3 instead of the runtime's stack
// trace.
__attribute__((constructor)) static void check_address_space(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur / 1024 >= PYPROF_ADDRESS_SPACE_KIB)
		return;
	char msg[300];
	int n = snprintf(msg, sizeof msg,
			 "pyprof: the address space limit (ulimit -v) is %llu KiB; pyprof needs %llu KiB, most of it reserved "
			 "by its Go runtime as it starts: raise the limit to %llu or more, or run pyprof outside it\n",
			 (unsigned long long)r.rlim_cur / 1024, PYPROF_ADDRESS_SPACE_KIB, PYPROF_ADDRESS_SPACE_KIB);
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
	_exit(PYPROF_EXIT_ENVIRONMENT);
}
*/
import "C"

// What the C check uses, for the test that holds it to the Go one.
const (
	cAddressSpaceKiB  = C.PYPROF_ADDRESS_SPACE_KIB
	cAddressSpaceExit = C.PYPROF_EXIT_ENVIRONMENT
)
