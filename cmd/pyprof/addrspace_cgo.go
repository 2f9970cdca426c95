//go:build cgo

package main

/*
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

// addrspace.go's addressSpaceKiB, startAddressSpaceKiB and exitEnv (a
// test holds them together).
#define PYPROF_ADDRESS_SPACE_KIB 2097152ULL
#define PYPROF_START_ADDRESS_SPACE_KIB 1572864ULL
#define PYPROF_EXIT_ENVIRONMENT 3

// address_space_floor is addrspace.go's addressSpaceFloor: what the
// command pyprof runs (its first argument) needs.
static unsigned long long address_space_floor(int argc, char **argv)
{
	if (argc > 1 && argv != NULL && argv[1] != NULL &&
	    (strcmp(argv[1], "record") == 0 || strcmp(argv[1], "_consume") == 0))
		return PYPROF_ADDRESS_SPACE_KIB;
	return PYPROF_START_ADDRESS_SPACE_KIB;
}

// check_address_space runs before the Go runtime starts (a constructor of
// the executable, to which glibc passes the command line), so that an
// address space limit too low for the command gets addrspace.go's one line
// and exit status 3 instead of the runtime's stack trace.
__attribute__((constructor)) static void check_address_space(int argc, char **argv, char **envp)
{
	(void)envp;
	unsigned long long need = address_space_floor(argc, argv);
	struct rlimit r;
	if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur / 1024 >= need)
		return;
	char msg[300];
	int n = snprintf(msg, sizeof msg,
			 "pyprof: the address space limit (ulimit -v) is %llu KiB; pyprof needs %llu KiB, most of it reserved "
			 "by its Go runtime as it starts: raise the limit to %llu or more, or run pyprof outside it\n",
			 (unsigned long long)r.rlim_cur / 1024, need, need);
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
	_exit(PYPROF_EXIT_ENVIRONMENT);
}
*/
import "C"

// What the C check uses, for the test that holds it to the Go one.
const (
	cAddressSpaceKiB      = C.PYPROF_ADDRESS_SPACE_KIB
	cStartAddressSpaceKiB = C.PYPROF_START_ADDRESS_SPACE_KIB
	cAddressSpaceExit     = C.PYPROF_EXIT_ENVIRONMENT
)
