/*
 * agent.c: pyprof's in-process agent. sys.monitoring calls the functions
 * of callbacks.c; each appends a record (wire.h) to the calling thread's
 * ring in shared memory, which pyprof drains while the program runs.
 *
 * This file holds the state every part shares and includes the parts,
 * each a role in a file named for it (listed at the end): one translation
 * unit, so that splitting the source costs the hot path no calls.
 *
 * Every callback is a hot path (tens of millions of calls a second): one
 * timestamp, at most one table lookup, one 8-byte store and one release
 * store of the write position. Everything that can be done once per code
 * object or per callable is done on first sight and sent as a definition.
 *
 * Built without Python.h, against pyabi.h's declarations, so that one
 * shared object serves every CPython from 3.12 on; layout.c checks at load
 * time that this interpreter is one it can serve (the GIL, the object
 * layouts it reads), and the agent refuses to load where it is not.
 *
 * With record --subprocesses, a child process records into rings of its
 * own, registered with pyprof (wire.h, child processes): a forked child
 * from forked(), a new interpreter from init_child().
 */
#define _GNU_SOURCE /* memfd flags and seals */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define PYPROF_HAVE_TSC 1
#endif

#include "layout.h"
#include "pyabi.h"
#include "wire.h"

/* None is immortal (pyabi.h): returned as is, with no count to keep. */
#define RETURN_NONE return Py_None

/* The prebuilt agent binds to the oldest versions of the glibc symbols that
 * moved into libc proper in 2.34, so that it also loads with older C
 * libraries (manylinux2014's 2.17). */
#if defined(__x86_64__)
__asm__(".symver pthread_key_create,pthread_key_create@GLIBC_2.2.5");
__asm__(".symver pthread_setspecific,pthread_setspecific@GLIBC_2.2.5");
#elif defined(__aarch64__)
__asm__(".symver pthread_key_create,pthread_key_create@GLIBC_2.17");
__asm__(".symver pthread_setspecific,pthread_setspecific@GLIBC_2.17");
#endif

/* fstat through the system call: glibc's own symbol is 2.33+. */
static int stat_fd(int fd, struct stat *st) { return (int)syscall(SYS_fstat, fd, st); }

#define U64(base, off) ((volatile uint64_t *)((base) + (off)))
#define U32(base, off) ((volatile uint32_t *)((base) + (off)))

/* ---- process-wide state (guarded by the GIL) ---------------------------- */

static uint8_t *shm;          /* the mapped header and control blocks */
static size_t shm_size;
static uint32_t nslots;
static uint64_t ring_bytes, data_start;
static int use_tsc;
static pid_t consumer_pid;
static int consumer_is_parent; /* pyprof started us: its death reparents us */
static PyObject *orphan_handler;   /* called in the main thread once pyprof is gone */
static int recording;         /* 0 before start, after stop and in a forked child */
static Py_ssize_t extra_index = -1;
static uint32_t next_code_id = 1, next_callable_id = 1;
static PyObject *hidden_files; /* frozenset of filenames whose code is pyprof's own */
static pthread_key_t exit_key;
/* pyprof's socket for child processes (wire.h), an abstract name without
 * its leading NUL; empty when children are not followed. */
static char follow_name[sizeof(((struct sockaddr_un *)0)->sun_path) - 1];
static int follow_sock = -1; /* our registration, open while we live */
static dev_t follow_dev;      /* and its identity: the program may close */
static ino_t follow_ino;      /* every descriptor and reuse the number */

/* ---- per-thread state ---------------------------------------------------- */

typedef struct {
    uint8_t *slot;      /* its control block; NULL until the thread's first event */
    uint8_t *data;      /* its ring, mapped from the start for `mapped` bytes */
    uint64_t mapped;
    uint64_t wpos;      /* our copy of the slot's write position */
    uint64_t limit;     /* wpos may grow to this without re-reading read_pos */
    uint64_t last;      /* ticks of the previous record */
    PyObject *pending_code; /* code of the Python callee of the last CALL */
    uint32_t pending_site;
    void *last_key;         /* the callable identity last looked up, and its id: */
    uint32_t last_id;       /* a C call's CALL and C_RETURN look up the same one */
    uint32_t lost_tries;    /* events lost since a slot, or more of the ring, was last looked for */
    uint32_t lost_why;      /* the header counter events without a slot are lost to */
} thread_state;

/* initial-exec: one %fs-relative address instead of a __tls_get_addr call
 * per access (four per event before). It takes a few bytes of the static
 * TLS surplus glibc keeps for dlopen'ed modules. */
static __thread thread_state T __attribute__((tls_model("initial-exec")));

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks(void)
{
#ifdef PYPROF_HAVE_TSC
    if (use_tsc)
        return __rdtsc();
#endif
    return mono_ns();
}

/* ---- the roles, each in a file named for it ------------------------------
 * One translation unit (a unity build): the hot path inlines what it calls
 * across files as it did in one file, and every function stays static. In
 * the order they depend on each other. */
#include "ring.c"
#include "payload.c"
#include "slots.c"
#include "hot.c"
#include "codes.c"
#include "frames.c"
#include "callbacks.c"
#include "children.c"
#include "module.c"
