/*
 * agent.c: pyprof's in-process agent. sys.monitoring calls the functions
 * below; each appends a record (wire.h) to the calling thread's ring in
 * shared memory, which pyprof drains while the program runs.
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

/* ---- the ring ------------------------------------------------------------ */

static void drop(uint64_t events, uint32_t off)
{
    __atomic_fetch_add(U64(shm, off), events, __ATOMIC_RELAXED);
}

/* ---- ring mappings ------------------------------------------------------------
 * The memfd holds a ring for every slot, but a ring is mapped only once a
 * thread takes its slot, FIRST_MAP bytes of it at first, doubling as the
 * thread writes on (a thread that writes little never maps its whole ring),
 * and shrunk back when the thread ends: the address space the program uses
 * follows its threads, not the slots there could be. A slot's mapping is
 * kept for its next thread. New ones come from shm_fd, our descriptor of
 * the memfd, checked by identity first: a program may close every
 * descriptor it did not open (a daemon does), and then from the header's
 * mapping instead (map_range). */

enum { FIRST_MAP = 64 << 10 };

typedef struct {
    uint8_t *base;  /* the mapping, skew bytes before the ring where pages are larger than the rings' alignment */
    uint64_t skew;
    uint64_t len;   /* of the ring mapped */
} ring_map;

static ring_map *ring_maps; /* one per slot */
static int shm_fd = -1;     /* our own descriptor of the memfd */
static dev_t shm_dev;
static ino_t shm_ino;

static inline uint8_t *ctrl_of(uint32_t i)
{
    return shm + PYPROF_HDR_SIZE + (uint64_t)i * PYPROF_SLOT_CTRL_SIZE;
}

static inline uint32_t index_of(const uint8_t *ctrl)
{
    return (uint32_t)((uint64_t)(ctrl - shm - PYPROF_HDR_SIZE) / PYPROF_SLOT_CTRL_SIZE);
}

/* keep_fd makes fd, or a copy of it, the descriptor rings are mapped from. */
static int keep_fd(int fd, int copy)
{
    struct stat st;
    int own = copy ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : fd;
    if (own < 0 || stat_fd(own, &st) != 0) {
        if (own >= 0 && copy)
            close(own);
        return -1;
    }
    shm_fd = own;
    shm_dev = st.st_dev;
    shm_ino = st.st_ino;
    return 0;
}

/* forget_rings unmaps every ring and lets the descriptor go, when this
 * process stops writing into that memfd (a forked child making its own). */
static void forget_rings(void)
{
    for (uint32_t i = 0; ring_maps && i < nslots; i++)
        if (ring_maps[i].base)
            munmap(ring_maps[i].base, ring_maps[i].skew + ring_maps[i].len);
    PyMem_Free(ring_maps);
    ring_maps = NULL;
    struct stat st;
    if (shm_fd >= 0 && stat_fd(shm_fd, &st) == 0 && st.st_dev == shm_dev && st.st_ino == shm_ino)
        close(shm_fd);
    shm_fd = -1;
}

/* map_range maps len bytes of the memfd from off, a multiple of the page
 * size. Without our descriptor, mremap makes a second mapping of the
 * header's file from its start up to the range's end, all but the range
 * let go at once: no descriptor needed, but as much address space as the
 * range's end for a moment, which a limit (ulimit -v) may refuse. */
static uint8_t *map_range(uint64_t off, uint64_t len)
{
    struct stat st;
    if (shm_fd >= 0 && stat_fd(shm_fd, &st) == 0 && st.st_dev == shm_dev && st.st_ino == shm_ino)
        return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, (off_t)off);
    uint8_t *p = mremap(shm, 0, off + len, MREMAP_MAYMOVE);
    if (p == MAP_FAILED || off == 0)
        return p;
    munmap(p, off);
    return p + off;
}

/* map_ring makes sure slot i's ring is mapped; 0 when it cannot be. */
static int map_ring(uint32_t i)
{
    ring_map *m = &ring_maps[i];
    if (m->base)
        return 1;
    uint64_t off = data_start + (uint64_t)i * ring_bytes, page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t skew = off % page, len = ring_bytes < FIRST_MAP ? ring_bytes : FIRST_MAP;
    uint8_t *p = map_range(off - skew, skew + len);
    if (p == MAP_FAILED)
        return 0;
    m->base = p;
    m->skew = skew;
    m->len = len;
    return 1;
}

/* map_more maps enough of the thread's ring for the write position to
 * reach `need`; 0 when the address space is not there (ulimit -v). */
static int map_more(thread_state *t, uint64_t need)
{
    ring_map *m = &ring_maps[index_of(t->slot)];
    uint64_t len = m->len;
    while (len < need)
        len *= 2;
    if (len > ring_bytes)
        len = ring_bytes;
    void *p = mremap(m->base, m->skew + m->len, m->skew + len, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return 0;
    m->base = p;
    m->len = len;
    t->data = m->base + m->skew;
    t->mapped = len;
    return 1;
}

/* shrink_ring gives back the address space of a ring whose thread ended,
 * keeping FIRST_MAP bytes of it for the slot's next thread. In place: a
 * smaller mapping never needs to move. */
static void shrink_ring(uint32_t i)
{
    ring_map *m = &ring_maps[i];
    uint64_t len = ring_bytes < FIRST_MAP ? ring_bytes : FIRST_MAP;
    if (m->base && m->len > len && mremap(m->base, m->skew + m->len, m->skew + len, 0) != MAP_FAILED)
        m->len = len;
}

/* room_limit is how far the write position may go with the read position
 * at rpos: to the end of what is mapped until the whole ring is, then one
 * ring past rpos. */
static inline uint64_t room_limit(thread_state *t, uint64_t rpos)
{
    return t->mapped < ring_bytes ? t->mapped : rpos + ring_bytes;
}

/* consumer_alive tells whether pyprof still drains the rings. When it
 * started us, its death shows as a new parent (no pid-reuse trap). */
static int consumer_alive(void)
{
    if (consumer_pid <= 0)
        return 1;
    if (consumer_is_parent && getppid() != consumer_pid)
        return 0;
    return !(kill(consumer_pid, 0) == -1 && errno == ESRCH);
}

static int call_orphan_handler(void *unused)
{
    (void)unused;
    if (orphan_handler) {
        PyObject *r = PyObject_CallNoArgs(orphan_handler);
        if (!r)
            PyErr_WriteUnraisable(orphan_handler);
        Py_DecRef(r);
    }
    return 0;
}

/* consumer_gone is what every path that finds pyprof dead does: recording
 * stops at once, and the main thread is asked to give the tool id back
 * (sys.monitoring may only be called with the GIL, outside a callback: a
 * pending call), so that the program goes on as if never profiled instead
 * of raising events nobody reads. */
static void consumer_gone(void)
{
    if (!recording)
        return;
    recording = 0;
    Py_AddPendingCall(call_orphan_handler, NULL);
}

enum { CHECK_BYTES = 32768 };

/* crossed_check tells whether a write position moving from `from` to `to`
 * passed a multiple of CHECK_BYTES: their bits above it differ. */
static inline int crossed_check(uint64_t from, uint64_t to)
{
    return (from ^ to) >= CHECK_BYTES;
}

/* check_consumer is called every CHECK_BYTES a thread writes (4096 hot
 * records), as its write position crosses a multiple of them: at most four
 * times a second it asks whether pyprof lives. If it died, the program
 * must go on as if never profiled: recording stops at once, and the main
 * thread is asked to give the tool id back (sys.monitoring may only be
 * called with the GIL, outside a callback: a pending call). No thread of
 * the agent's own does this, because CPython warns a program that forks
 * while it has other threads. A program that raises no events is not
 * slowed by the profiler, and a producer waiting for room checks too. */
static void check_consumer(void)
{
    static uint64_t last;
    uint64_t now = mono_ns();
    if (now - last < 250000000u)
        return;
    last = now;
    if (recording && !consumer_alive())
        consumer_gone();
}

/* wait_for_room blocks until n more bytes fit: no event is dropped while the
 * consumer lives. Returns 0 when the consumer is gone. Most calls only
 * refresh the cached limit, room being there: the clock is read, and the
 * wait counted, only once the ring is really full. */
static int wait_for_room(thread_state *t, uint64_t n)
{
    uint64_t rpos = __atomic_load_n(U64(t->slot, PYPROF_SLOT_READ_POS), __ATOMIC_ACQUIRE);
    t->limit = room_limit(t, rpos);
    if (t->wpos + n <= t->limit)
        return 1;
    uint64_t started = mono_ns(), checked = started;
    struct timespec pause = {0, 50000};
    for (;;) {
        rpos = __atomic_load_n(U64(t->slot, PYPROF_SLOT_READ_POS), __ATOMIC_ACQUIRE);
        t->limit = room_limit(t, rpos);
        if (t->wpos + n <= t->limit) {
            *U64(t->slot, PYPROF_SLOT_WAIT_NS) += mono_ns() - started;
            return 1;
        }
        /* Sleep without the GIL, as the twin's time.sleep does: the
         * consumer may be a thread of this very process (agent_test.py
         * drains from one), which would otherwise never run. */
        Py_BEGIN_ALLOW_THREADS
        nanosleep(&pause, NULL);
        Py_END_ALLOW_THREADS
        uint64_t now = mono_ns();
        if (now - checked > 100000000u) {
            checked = now;
            if (!consumer_alive()) {
                consumer_gone();
                return 0;
            }
        }
    }
}

/* make_room makes room for n more bytes, mapping more of the ring first
 * when the write position nears the end of what is mapped. Returns 0, or
 * the header counter of the events lost when there is no room: the
 * consumer is gone, or the address space to map the ring is not there
 * (tried again every 1024 events, not for each). */
static uint32_t make_room(thread_state *t, uint64_t n)
{
    if (t->wpos + n > t->mapped && t->mapped < ring_bytes &&
        (t->lost_tries++ % 1024 != 0 || !map_more(t, t->wpos + n)))
        return PYPROF_HDR_LOST_NO_MEMORY;
    t->lost_tries = 0;
    return wait_for_room(t, n) ? 0 : PYPROF_HDR_LOST_NO_CONSUMER;
}

static inline void publish(thread_state *t)
{
    __atomic_store_n(U64(t->slot, PYPROF_SLOT_WRITE_POS), t->wpos, __ATOMIC_RELEASE);
}

static inline int put_word(thread_state *t, uint64_t w)
{
    uint32_t lost;
    if (t->wpos + 8 > t->limit && (lost = make_room(t, 8)) != 0) {
        drop(1, lost);
        return 0;
    }
    *(uint64_t *)(t->data + (t->wpos & (ring_bytes - 1))) = w;
    t->wpos += 8;
    publish(t);
    return 1;
}

/* put_ext writes an extended record whose payload was built in buf. */
static void put_ext(thread_state *t, uint32_t sub, const uint8_t *buf, uint64_t len)
{
    uint64_t padded = (len + 7) & ~(uint64_t)7, total = 8 + padded;
    if (total > ring_bytes / PYPROF_MAX_RECORD_SHARE) {
        /* Only in a ring smaller than pyprof allows (wire.h): counted, so
         * that the profile shows what is missing. */
        drop(1, PYPROF_HDR_LOST_NO_SLOT);
        return;
    }
    uint32_t lost;
    if (t->wpos + total > t->limit && (lost = make_room(t, total)) != 0) {
        drop(1, lost);
        return;
    }
    uint64_t mask = ring_bytes - 1;
    *(uint64_t *)(t->data + (t->wpos & mask)) =
        ((uint64_t)sub << PYPROF_SUB_SHIFT) | (len << PYPROF_LEN_SHIFT);
    t->wpos += 8;
    for (uint64_t i = 0; i < padded; i += 8) {
        uint64_t w = 0;
        memcpy(&w, buf + i, len - i < 8 ? len - i : 8);
        *(uint64_t *)(t->data + (t->wpos & mask)) = w;
        t->wpos += 8;
    }
    publish(t);
}

/* ---- payload building ---------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed;
} buffer;

static void buf_bytes(buffer *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = PyMem_Realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void buf_u32(buffer *b, uint32_t v) { buf_bytes(b, &v, 4); }
static void buf_u64(buffer *b, uint64_t v) { buf_bytes(b, &v, 8); }

static void buf_str(buffer *b, PyObject *s)
{
    Py_ssize_t n = 0;
    const char *utf8 = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &n) : NULL;
    if (!utf8) {
        PyErr_Clear();
        utf8 = "?";
        n = 1;
    }
    if (n > PYPROF_MAX_STRING)
        n = PYPROF_MAX_STRING; /* names longer than this are not worth a ring's room */
    buf_u32(b, (uint32_t)n);
    buf_bytes(b, utf8, (size_t)n);
}

/* buf_str_or_empty writes s, or an empty string for NULL: "unknown". */
static void buf_str_or_empty(buffer *b, PyObject *s)
{
    if (s)
        buf_str(b, s);
    else
        buf_u32(b, 0);
}

/* ---- threads --------------------------------------------------------------- */

/* on_thread_exit closes the slot of a thread that ended, its ring shrunk
 * first: once CLOSED, the slot is the consumer's to free and the next
 * thread's to take. Runs without the GIL, but nothing else touches the
 * slot's mapping until then. */
static void on_thread_exit(void *slot)
{
    shrink_ring(index_of(slot));
    __atomic_store_n(U32((uint8_t *)slot, PYPROF_SLOT_STATE), PYPROF_SLOT_CLOSED, __ATOMIC_RELEASE);
}

/* take_slot gives this thread a ring: the lowest free slot, whose ring it
 * maps. The GIL serialises producers, and only the consumer turns a CLOSED
 * slot back to FREE. Returns 0 with t->lost_why set when it cannot. */
static int take_slot(thread_state *t)
{
    t->lost_why = PYPROF_HDR_LOST_NO_SLOT;
    for (uint32_t i = 0; i < nslots; i++) {
        uint8_t *slot = ctrl_of(i);
        if (__atomic_load_n(U32(slot, PYPROF_SLOT_STATE), __ATOMIC_ACQUIRE) != PYPROF_SLOT_FREE)
            continue;
        if (!map_ring(i)) {
            t->lost_why = PYPROF_HDR_LOST_NO_MEMORY;
            return 0;
        }
        *U32(slot, PYPROF_SLOT_GENERATION) += 1;
        __atomic_store_n(U32(slot, PYPROF_SLOT_STATE), PYPROF_SLOT_OWNED, __ATOMIC_RELEASE);
        if (__atomic_load_n(U32(shm, PYPROF_HDR_SLOTS_USED), __ATOMIC_RELAXED) <= i)
            __atomic_store_n(U32(shm, PYPROF_HDR_SLOTS_USED), i + 1, __ATOMIC_RELEASE);
        t->slot = slot;
        t->data = ring_maps[i].base + ring_maps[i].skew;
        t->mapped = ring_maps[i].len;
        t->lost_tries = 0;
        t->wpos = __atomic_load_n(U64(slot, PYPROF_SLOT_WRITE_POS), __ATOMIC_ACQUIRE);
        t->limit = room_limit(t, __atomic_load_n(U64(slot, PYPROF_SLOT_READ_POS), __ATOMIC_ACQUIRE));
        pthread_setspecific(exit_key, slot);
        buffer b = {0};
        t->last = ticks();
        buf_u64(&b, (uint64_t)syscall(SYS_gettid));
        buf_u64(&b, (uint64_t)PyThread_get_thread_ident());
        buf_u64(&b, t->last);
        if (!b.failed)
            put_ext(t, PYPROF_X_THREAD, b.p, b.len);
        PyMem_Free(b.p);
        return 1;
    }
    return 0;
}

/* wait_for_slot gives pyprof up to ~100 ms to recycle the slot of an
 * ended thread: threads that start and end faster than it drains would
 * otherwise find none. The GIL is released so that other threads go on. */
static int wait_for_slot(thread_state *t)
{
    struct timespec pause = {0, 100000};
    for (int i = 0; i < 1000; i++) {
        if (!consumer_alive()) {
            consumer_gone();
            return 0;
        }
        Py_BEGIN_ALLOW_THREADS
        nanosleep(&pause, NULL);
        Py_END_ALLOW_THREADS
        if (take_slot(t))
            return 1;
    }
    return 0;
}

/* ready makes sure the calling thread has a ring. A thread that finds no
 * free slot waits a little for one; if more threads live at once than
 * there are slots, or its ring cannot be mapped, its events are counted
 * as lost (and shown), and it looks again now and then. */
static inline int ready(thread_state *t)
{
    if (!recording)
        return 0;
    if (t->slot)
        return 1;
    if (t->lost_tries++ % 1024 == 0 &&
        (take_slot(t) || (t->lost_tries == 1 && t->lost_why == PYPROF_HDR_LOST_NO_SLOT && wait_for_slot(t))))
        return 1;
    drop(1, t->lost_why ? t->lost_why : PYPROF_HDR_LOST_NO_SLOT);
    return 0;
}

/* ---- hot records ----------------------------------------------------------- */

static void put_big(thread_state *t, uint32_t sub, uint32_t v)
{
    put_ext(t, sub, (const uint8_t *)&v, 4);
}

static inline uint64_t hot_word(uint64_t kind, uint32_t id, uint32_t site, uint64_t delta)
{
    return (kind << PYPROF_KIND_SHIFT) | ((uint64_t)id << PYPROF_ID_SHIFT) | ((uint64_t)site << PYPROF_SITE_SHIFT) |
           delta;
}

/* put_hot_slow writes what the fast path leaves to it: extension records
 * for a long gap, a big id or site, a ring without room, the consumer
 * check. Out of line, so that the fast path saves no registers. */
static __attribute__((noinline, cold)) void put_hot_slow(thread_state *t, uint64_t kind, uint32_t id, uint32_t site,
                                                         uint64_t now)
{
    uint64_t delta = now - t->last, from = t->wpos;
    t->last = now;
    if (delta >> PYPROF_DELTA_BITS) {
        put_ext(t, PYPROF_X_TIME, (const uint8_t *)&now, 8);
        delta = 0;
    }
    if (id >> PYPROF_ID_BITS) {
        put_big(t, PYPROF_X_BIG_ID, id);
        id = 0;
    }
    if (site > PYPROF_SITE_NONE) {
        put_big(t, PYPROF_X_BIG_SITE, site);
        site = 0;
    }
    put_word(t, hot_word(kind, id, site, delta));
    if (crossed_check(from, t->wpos))
        check_consumer();
}

/* put_hot writes one hot record: a timestamp read and one word stored. */
static inline void put_hot(thread_state *t, uint64_t kind, uint32_t id, uint32_t site)
{
    uint64_t now = ticks(), delta = now - t->last, next = t->wpos + 8;
    if (__builtin_expect((delta >> PYPROF_DELTA_BITS) != 0 || (id >> PYPROF_ID_BITS) != 0 || site > PYPROF_SITE_NONE ||
                             next > t->limit || (next & (CHECK_BYTES - 1)) == 0,
                         0)) {
        put_hot_slow(t, kind, id, site, now);
        return;
    }
    t->last = now;
    *(uint64_t *)(t->data + (t->wpos & (ring_bytes - 1))) = hot_word(kind, id, site, delta);
    t->wpos = next;
    publish(t);
}

/* ---- code objects ------------------------------------------------------------ */

/* line_table sends co_lines() once per code object, so the hot path never
 * maps an offset to a line: the consumer does, once per call site. */
static void line_table(buffer *b, PyObject *code)
{
    uint32_t n = 0;
    size_t count_at = b->len;
    buf_u32(b, 0);
    PyObject *it = PyObject_CallMethod(code, "co_lines", NULL);
    PyObject *item;
    while (it && (item = PyIter_Next(it)) != NULL) {
        long start = -1, line = -1;
        if (PyTuple_Check(item) && PyTuple_Size(item) == 3) {
            start = PyLong_AsLong(PyTuple_GetItem(item, 0));
            PyObject *l = PyTuple_GetItem(item, 2);
            line = l == Py_None ? -1 : PyLong_AsLong(l);
        }
        Py_DecRef(item);
        if (start < 0 || n >= PYPROF_MAX_LINES)
            continue;
        buf_u32(b, (uint32_t)(start / 2));
        buf_u32(b, (uint32_t)(int32_t)line);
        n++;
    }
    Py_DecRef(it);
    PyErr_Clear();
    if (!b->failed)
        memcpy(b->p + count_at, &n, 4);
}

/* globals_name returns (a new reference to) the str __name__ in the
 * globals of frame f, or NULL (exec with a bare dict has none). */
static PyObject *globals_name(PyFrameObject *f)
{
    PyObject *globals = PyFrame_GetGlobals(f);
    PyObject *name = globals ? PyDict_GetItemString(globals, "__name__") : NULL; /* borrowed */
    if (name && PyUnicode_Check(name))
        Py_IncRef(name);
    else
        name = NULL;
    Py_DecRef(globals);
    PyErr_Clear();
    return name;
}

/* module_of returns (a new reference to) the __name__ of the module that
 * code was defined in: the one in the globals of the frame running it, the
 * nearest such frame of the calling thread's stack. NULL when none runs it
 * or its globals have no str __name__: the module is unknown, and pyprof
 * names the code from its file. A code event is raised in its code's own
 * frame, the current one, but code is not always that: bootstrap.py's own
 * PY_START callback (the program's first frame, in a child interpreter)
 * calls py_start from a Python frame above it, and a region started inside
 * running frames enters each of them, the region's frame many below the
 * caller. Only define_code calls this: once per code object, never per
 * event, and the walk ends at the first frame running code. */
static PyObject *module_of(PyObject *code)
{
    PyFrameObject *f = PyEval_GetFrame(); /* borrowed */
    Py_IncRef((PyObject *)f);
    PyObject *name = NULL;
    while (f) {
        PyObject *running = PyFrame_GetCode(f);
        Py_DecRef(running);
        if (running == code) {
            name = globals_name(f);
            break;
        }
        PyFrameObject *back = PyFrame_GetBack(f);
        Py_DecRef((PyObject *)f);
        f = back;
    }
    Py_DecRef((PyObject *)f);
    return name;
}

/* define_code runs once per code object: its fields are read through the
 * public attributes, which no release has moved, and its module from the
 * frame running it (module_of). */
static uint32_t define_code(thread_state *t, PyObject *code)
{
    uint32_t id = next_code_id++;
    if (PyUnstable_Code_SetExtra(code, extra_index, (void *)(uintptr_t)id) < 0)
        PyErr_Clear();
    PyObject *filename = PyObject_GetAttrString(code, "co_filename");
    PyObject *qualname = PyObject_GetAttrString(code, "co_qualname");
    PyObject *first = PyObject_GetAttrString(code, "co_firstlineno");
    PyObject *module = module_of(code);
    long firstline = first ? PyLong_AsLong(first) : 0;
    PyErr_Clear();
    int hidden = hidden_files && filename && PySet_Contains(hidden_files, filename) == 1;
    PyErr_Clear();
    buffer b = {0};
    buf_u32(&b, id);
    buf_u32(&b, (uint32_t)firstline);
    buf_u32(&b, hidden ? PYPROF_CODE_HIDDEN : 0);
    buf_str(&b, qualname);
    buf_str(&b, filename);
    buf_str_or_empty(&b, module);
    line_table(&b, code);
    if (!b.failed)
        put_ext(t, PYPROF_X_CODE, b.p, b.len);
    PyMem_Free(b.p);
    Py_DecRef(filename);
    Py_DecRef(qualname);
    Py_DecRef(first);
    Py_DecRef(module);
    return id;
}

/* code_id reads the id stored in the code object's extra slot inline, at
 * the offset layout.c found: no call into libpython per event.
 * PyUnstable_Code_SetExtra still does the writes. */
static inline uint32_t code_id(thread_state *t, PyObject *code)
{
    if (Py_TYPE(code) != &PyCode_Type)
        return 0;
    code_extra *extra = *(code_extra **)((uint8_t *)code + pyprof_layout.co_extra);
    if (extra && extra_index < extra->ce_size && extra->ce_extras[extra_index])
        return (uint32_t)(uintptr_t)extra->ce_extras[extra_index];
    return define_code(t, code);
}

static inline uint32_t site_of(PyObject *offset)
{
    /* Offsets are small ints: read them inline (pyabi.h's layout, checked
     * at load), without a call. */
    PyLongObject *l = (PyLongObject *)offset;
    if (Py_TYPE(offset) == &PyLong_Type && l->lv_tag < (2 << 3)) {
        long v = (long)(1 - (long)(l->lv_tag & 3)) * (long)l->ob_digit[0];
        return v < 0 ? PYPROF_SITE_NONE : (uint32_t)(v / 2);
    }
    long off = PyLong_AsLong(offset);
    if (off < 0) {
        PyErr_Clear();
        return PYPROF_SITE_NONE;
    }
    return (uint32_t)(off / 2);
}

/* ---- callables that are not Python functions -------------------------------- */

/* A callable is identified by what is stable and shared between its forms:
 * the PyMethodDef of builtins and method descriptors (so `len`, a bound
 * `data.append` and `list.append` each have one id), the type object for
 * classes, and the type (tagged) for other callable objects. Objects used as
 * keys are kept alive by the table so an address is never reused. */
typedef struct {
    void *key;
    uint32_t id;
} callable_entry;

static callable_entry *table;
static size_t table_cap, table_len;

static PyObject *qualified(PyTypeObject *tp, const char *suffix)
{
    PyObject *mod = PyObject_GetAttrString((PyObject *)tp, "__module__");
    PyObject *qual = PyType_GetQualName(tp);
    PyErr_Clear();
    PyObject *name = PyUnicode_FromFormat("%s%s%S%s", mod && PyUnicode_Check(mod) ? PyUnicode_AsUTF8(mod) : "",
                                          mod && PyUnicode_Check(mod) ? "." : "", qual ? qual : Py_None, suffix);
    PyErr_Clear();
    Py_DecRef(mod);
    Py_DecRef(qual);
    return name;
}

/* type_name names a type the way Python's repr of its methods does: its
 * module, a dot, its qualname ("_csv.writer", "_thread.lock"), the module
 * left out for the builtins ("list"). */
static PyObject *type_name(PyTypeObject *tp)
{
    PyObject *mod = PyObject_GetAttrString((PyObject *)tp, "__module__");
    PyObject *qual = PyType_GetQualName(tp);
    PyErr_Clear();
    const char *m = mod && PyUnicode_Check(mod) ? PyUnicode_AsUTF8(mod) : NULL;
    PyErr_Clear();
    PyObject *name = m && strcmp(m, "builtins") != 0 ? PyUnicode_FromFormat("%s.%S", m, qual ? qual : Py_None)
                                                    : PyUnicode_FromFormat("%S", qual ? qual : Py_None);
    Py_DecRef(mod);
    Py_DecRef(qual);
    return name;
}

/* method_name names a method of a type implemented in C by its type
 * (type_name) and its own name: "_csv.writer.writerow", "list.append". */
static PyObject *method_name(PyTypeObject *tp, PyObject *method)
{
    PyObject *owner = type_name(tp);
    PyObject *name = PyUnicode_FromFormat("%S.%S", owner ? owner : Py_None, method);
    Py_DecRef(owner);
    return name;
}

static inline int is_builtin(PyObject *c)
{
    return Py_TYPE(c) == &PyCFunction_Type || PyType_IsSubtype(Py_TYPE(c), &PyCFunction_Type);
}

static inline int is_module(PyObject *o)
{
    return Py_TYPE(o) == &PyModule_Type || PyType_IsSubtype(Py_TYPE(o), &PyModule_Type);
}

static PyObject *callable_name(PyObject *c)
{
    if (is_builtin(c)) {
        PyCFunctionObject *f = (PyCFunctionObject *)c;
        if (f->m_self && !is_module(f->m_self)) {
            PyObject *method = PyUnicode_FromFormat("%s", f->m_ml->ml_name);
            PyObject *name = method_name(Py_TYPE(f->m_self), method);
            Py_DecRef(method);
            return name;
        }
        if (f->m_module && PyUnicode_Check(f->m_module))
            return PyUnicode_FromFormat("%U.%s", f->m_module, f->m_ml->ml_name);
        return PyUnicode_FromFormat("builtins.%s", f->m_ml->ml_name);
    }
    if (Py_TYPE(c) == &PyMethodDescr_Type || Py_TYPE(c) == &PyClassMethodDescr_Type ||
        Py_TYPE(c) == &PyWrapperDescr_Type) {
        PyDescrObject *d = (PyDescrObject *)c;
        return method_name(d->d_type, d->d_name);
    }
    if (PyType_Check(c))
        return qualified((PyTypeObject *)c, "");
    return qualified(Py_TYPE(c), ".__call__");
}

static void *callable_key(PyObject *c, PyObject **keep)
{
    *keep = NULL;
    /* Exact types first: is_builtin walks the MRO of a method descriptor's
     * type (a call into libpython on every `s.join(...)`). */
    PyTypeObject *tp = Py_TYPE(c);
    if (tp == &PyCFunction_Type || tp == &PyCMethod_Type)
        return ((PyCFunctionObject *)c)->m_ml;
    if (tp == &PyMethodDescr_Type || tp == &PyClassMethodDescr_Type || tp == &PyWrapperDescr_Type)
        return ((PyDescrObject *)c)->d_def;
    if (is_builtin(c))
        return ((PyCFunctionObject *)c)->m_ml;
    if (PyType_Check(c)) {
        *keep = c;
        return c;
    }
    *keep = (PyObject *)Py_TYPE(c);
    return (uint8_t *)Py_TYPE(c) + 1; /* tagged: calling an instance, not the class */
}

static int table_grow(void)
{
    size_t cap = table_cap ? table_cap * 2 : 1024;
    callable_entry *t = PyMem_Calloc(cap, sizeof *t);
    if (!t)
        return 0;
    for (size_t i = 0; i < table_cap; i++) {
        if (!table[i].key)
            continue;
        size_t j = ((uintptr_t)table[i].key >> 4) * 0x9E3779B97F4A7C15ull >> 20 & (cap - 1);
        while (t[j].key)
            j = (j + 1) & (cap - 1);
        t[j] = table[i];
    }
    PyMem_Free(table);
    table = t;
    table_cap = cap;
    return 1;
}

static uint32_t define_callable(thread_state *t, PyObject *c, void *key, PyObject *keep, size_t slot)
{
    uint32_t id = next_callable_id++;
    Py_IncRef(keep);
    table[slot].key = key;
    table[slot].id = id;
    table_len++;
    PyObject *name = callable_name(c);
    PyErr_Clear();
    buffer b = {0};
    buf_u32(&b, id);
    buf_str(&b, name);
    Py_DecRef(name);
    if (!b.failed)
        put_ext(t, PYPROF_X_CALLABLE, b.p, b.len);
    PyMem_Free(b.p);
    return id;
}

static inline uint32_t callable_id(thread_state *t, PyObject *c)
{
    PyObject *keep;
    void *key = callable_key(c, &keep);
    if (key == t->last_key)
        return t->last_id; /* the table maps key to the same id for good */
    if (table_len * 2 >= table_cap && !table_grow())
        return 0;
    size_t j = ((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ull >> 20 & (table_cap - 1);
    while (table[j].key && table[j].key != key)
        j = (j + 1) & (table_cap - 1);
    uint32_t id = table[j].key ? table[j].id : define_callable(t, c, key, keep, j);
    t->last_key = key;
    t->last_id = id;
    return id;
}

/* ---- call sites from frames (record --native-calls=false) ------------------ */

/* Without CALL events, a call's site is read at PY_START from the caller's
 * frame: the instruction it is suspended at. Frames are internal
 * (_PyInterpreterFrame); layout.c finds their fields (a table for 3.12, the
 * interpreter's _Py_DebugOffsets from 3.13 on) and frame_sites checks them
 * against the public frame API before they are used. Anything else: no
 * sites, as before. */
static int frame_sites_on;

/* The thread state, through whichever accessor this release exports. */
static PyThreadState *(*get_tstate)(void);

static inline const uint8_t *field_ptr(const uint8_t *base, size_t off)
{
    return *(const uint8_t *const *)(base + off);
}

static inline const uint8_t *current_frame(void)
{
    const uint8_t *ts = get_tstate ? (const uint8_t *)get_tstate() : NULL;
    if (!ts)
        return NULL;
    const uint8_t *f = field_ptr(ts, pyprof_layout.ts_frame);
    if (pyprof_layout.via_cframe)
        f = f ? field_ptr(f, 0) : NULL;
    return f;
}

static inline const uint8_t *frame_previous(const uint8_t *f)
{
    return field_ptr(f, pyprof_layout.fr_previous);
}

/* frame_code is the object a frame runs. From 3.14 on the field is a
 * tagged reference whose low bits are flags; objects are aligned to at
 * least 8 bytes, so clearing three bits is right in every release. */
static inline PyObject *frame_code(const uint8_t *f)
{
    return (PyObject *)((uintptr_t)field_ptr(f, pyprof_layout.fr_code) & ~(uintptr_t)7);
}

/* python_caller skips the entry frames C code pushes when it calls Python:
 * a function called from C (sorted's key) gets the site of the call into
 * C, whose node is its parent when native calls are not recorded. */
static inline const uint8_t *python_caller(const uint8_t *f)
{
    const uint8_t *c = frame_previous(f);
    while (c && c[pyprof_layout.fr_owner] >= PYPROF_FRAME_OWNED_BY_INTERPRETER)
        c = frame_previous(c);
    return c;
}

/* frame_unit returns the code unit frame f is at, -1 when f does not run
 * code (its code field holds something else). */
static inline Py_ssize_t frame_unit(const uint8_t *f, PyObject **code)
{
    *code = frame_code(f);
    if (!*code || Py_TYPE(*code) != &PyCode_Type)
        return -1;
    const uint16_t *instr = (const uint16_t *)field_ptr(f, pyprof_layout.fr_instr);
    Py_ssize_t unit = instr - (const uint16_t *)((const uint8_t *)*code + pyprof_layout.co_code);
    return unit >= 0 && unit < Py_SIZE(*code) ? unit : -1;
}

/* frame_site returns the site of the call of code, whose PY_START this is. */
static inline uint32_t frame_site(PyObject *code)
{
    const uint8_t *f = current_frame();
    if (!f || frame_code(f) != code)
        return PYPROF_SITE_NONE;
    const uint8_t *caller = python_caller(f);
    PyObject *caller_code;
    Py_ssize_t unit = caller ? frame_unit(caller, &caller_code) : -1;
    return unit < 0 ? PYPROF_SITE_NONE : (uint32_t)unit;
}

/* layout_checks tells whether the frame fields read above are where this
 * interpreter keeps them, comparing them with what the public API says of
 * the Python frame calling us and of its caller. */
static int layout_checks(void)
{
    if (!pyprof_layout.frames)
        return 0;
    PyFrameObject *f = PyEval_GetFrame(); /* borrowed */
    const uint8_t *fr = current_frame();
    if (!f || !fr || fr[pyprof_layout.fr_owner] >= PYPROF_FRAME_OWNED_BY_INTERPRETER)
        return 0;
    PyObject *code = PyFrame_GetCode(f);
    PyObject *seen;
    int ok = frame_unit(fr, &seen) * 2 == PyFrame_GetLasti(f) && seen == code;
    Py_DecRef(code);
    if (!ok)
        return 0; /* before following a previous pointer we cannot trust */
    PyFrameObject *back = PyFrame_GetBack(f);
    const uint8_t *caller = python_caller(fr);
    if (ok && back && caller) {
        PyObject *back_code = PyFrame_GetCode(back);
        ok = frame_unit(caller, &seen) * 2 == PyFrame_GetLasti(back) && seen == back_code;
        Py_DecRef(back_code);
    } else if (back || caller) {
        ok = 0;
    }
    Py_DecRef((PyObject *)back);
    return ok;
}

/* frame_sites(on) turns sites from frames on or off; it returns whether
 * they are on, False where the layout check fails. */
static PyObject *agent_frame_sites(PyObject *m, PyObject *on)
{
    (void)m;
    int want = PyObject_IsTrue(on);
    if (want < 0)
        return NULL;
    frame_sites_on = want && layout_checks();
    return PyBool_FromLong(frame_sites_on);
}

/* ---- sys.monitoring callbacks ------------------------------------------------ */

static PyObject *on_py_start(PyObject *m, PyObject *const *args, Py_ssize_t n)
{
    (void)m;
    thread_state *t = &T;
    if (n >= 2 && ready(t)) {
        uint32_t site;
        if (frame_sites_on) {
            site = frame_site(args[0]);
        } else {
            site = t->pending_code == args[0] ? t->pending_site : PYPROF_SITE_NONE;
            t->pending_code = NULL;
        }
        put_hot(t, PYPROF_K_PY_START, code_id(t, args[0]), site);
    }
    RETURN_NONE;
}

#define CODE_EVENT(fn, kind)                                                   \
    static PyObject *fn(PyObject *m, PyObject *const *args, Py_ssize_t n)      \
    {                                                                          \
        (void)m;                                                               \
        thread_state *t = &T;                                                  \
        if (n >= 2 && ready(t))                                                \
            put_hot(t, kind, code_id(t, args[0]), 0);                          \
        RETURN_NONE;                                                        \
    }

CODE_EVENT(on_py_resume, PYPROF_K_PY_RESUME)
CODE_EVENT(on_py_throw, PYPROF_K_PY_THROW)
CODE_EVENT(on_py_return, PYPROF_K_PY_RETURN)
CODE_EVENT(on_py_yield, PYPROF_K_PY_YIELD)
CODE_EVENT(on_py_unwind, PYPROF_K_PY_UNWIND)

/* The agent's own module functions, [own_first, own_end): pyprof calls
 * them from the program's threads while events are on (naming a thread a
 * region sees start), and such a call is pyprof's, not the program's. */
static const PyMethodDef *own_first, *own_end;

/* is_own tells whether c is one of the agent's own functions. Two compares
 * of the method table's address; the twin's functions are Python code in a
 * hidden file instead. */
static inline int is_own(PyObject *c)
{
    if (Py_TYPE(c) != &PyCFunction_Type)
        return 0;
    const PyMethodDef *ml = ((PyCFunctionObject *)c)->m_ml;
    return ml >= own_first && ml < own_end;
}

/* unwrap sees through bound methods the way CPython's CALL does: a method of
 * a Python function runs as a Python frame (no C_RETURN follows). */
static inline PyObject *unwrap(PyObject *c)
{
    return Py_TYPE(c) == &PyMethod_Type ? ((PyMethodObject *)c)->im_func : c;
}

static PyObject *on_call(PyObject *m, PyObject *const *args, Py_ssize_t n)
{
    (void)m;
    thread_state *t = &T;
    if (n < 3 || !ready(t))
        RETURN_NONE;
    PyObject *c = unwrap(args[2]);
    if (Py_TYPE(c) == &PyFunction_Type) {
        /* Remember the call site for the PY_START that follows. */
        t->pending_code = *(PyObject **)((uint8_t *)c + pyprof_layout.func_code);
        t->pending_site = site_of(args[1]);
        RETURN_NONE;
    }
    t->pending_code = NULL;
    if (is_own(c))
        RETURN_NONE;
    put_hot(t, PYPROF_K_C_CALL, callable_id(t, c), site_of(args[1]));
    RETURN_NONE;
}

#define C_EVENT(fn, kind)                                                      \
    static PyObject *fn(PyObject *m, PyObject *const *args, Py_ssize_t n)      \
    {                                                                          \
        (void)m;                                                               \
        thread_state *t = &T;                                                  \
        /* f(*args, **kw) raises C_RETURN for a Python function too; its      \
         * CALL was taken as a Python call, so this one is skipped as well. */ \
        if (n >= 3 && Py_TYPE(unwrap(args[2])) != &PyFunction_Type &&         \
            !is_own(unwrap(args[2])) && ready(t))                              \
            put_hot(t, kind, callable_id(t, unwrap(args[2])), 0);              \
        RETURN_NONE;                                                        \
    }

C_EVENT(on_c_return, PYPROF_K_C_RETURN)
C_EVENT(on_c_raise, PYPROF_K_C_RAISE)

/* The null agent: the same callbacks registered, nothing recorded. It is the
 * floor the overhead benchmark measures against. */
static PyObject *on_null(PyObject *m, PyObject *const *args, Py_ssize_t n)
{
    (void)m, (void)args, (void)n;
    RETURN_NONE;
}

/* ---- control --------------------------------------------------------------- */

static void after_fork_child(void)
{
    /* A child must never write into its parent's rings. */
    recording = 0;
    memset(&T, 0, sizeof T); /* the forking thread's state */
    pthread_setspecific(exit_key, NULL);
    /* The parent's registration is the parent's: pyprof sees a followed
     * process end when its connection closes, which a child keeping it
     * open would delay. Only if it still is ours: a daemon may have closed
     * every descriptor and opened a file under that number since. */
    struct stat st;
    if (follow_sock >= 0 && stat_fd(follow_sock, &st) == 0 && st.st_dev == follow_dev && st.st_ino == follow_ino)
        close(follow_sock);
    follow_sock = -1;
}

/* ---- child processes (wire.h: record --subprocesses) ------------------------ */

/* write_header lays out the header of rings this process makes itself, as
 * pyprof's ring.Create does for the rings it makes; ring.CheckHeader is
 * the check both sides agree. The magic goes last. */
static void write_header(uint8_t *h)
{
    *U32(h, PYPROF_HDR_VERSION) = PYPROF_WIRE_VERSION;
    *U32(h, PYPROF_HDR_NSLOTS) = nslots;
    *U64(h, PYPROF_HDR_RING_BYTES) = ring_bytes;
    *U64(h, PYPROF_HDR_DATA_START) = data_start;
    *U32(h, PYPROF_HDR_CLOCK) = use_tsc ? PYPROF_CLOCK_TSC : PYPROF_CLOCK_MONOTONIC;
    *U64(h, PYPROF_HDR_CONSUMER_PID) = (uint64_t)consumer_pid;
    *U64(h, PYPROF_HDR_AGENT_PID) = (uint64_t)getpid();
    *U64(h, PYPROF_HDR_MAGIC) = PYPROF_WIRE_MAGIC;
}

/* register_rings hands memfd to pyprof and waits for its answer. Returns 0,
 * or -1 with errno set. Called without the GIL. */
static int register_rings(int memfd)
{
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t n = strlen(follow_name);
    memcpy(addr.sun_path + 1, follow_name, n); /* abstract: sun_path[0] is NUL */
    /* pyprof answers within a millisecond while it records; a pyprof that
     * does not answer at all leaves the child unprofiled, not hung. */
    struct timeval limit = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    uint8_t msg[PYPROF_REG_SIZE] = {0};
    uint64_t magic = PYPROF_WIRE_MAGIC, pid = (uint64_t)getpid();
    uint32_t version = PYPROF_WIRE_VERSION;
    memcpy(msg + PYPROF_REG_MAGIC, &magic, 8);
    memcpy(msg + PYPROF_REG_VERSION, &version, 4);
    memcpy(msg + PYPROF_REG_PID, &pid, 8);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {msg, sizeof msg};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.buf;
    m.msg_controllen = sizeof ctl.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &memfd, sizeof(int));
    uint8_t answer = 0;
    errno = 0;
    if (connect(s, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
        sendmsg(s, &m, MSG_NOSIGNAL) != (ssize_t)sizeof msg || recv(s, &answer, 1, 0) != 1 ||
        answer != PYPROF_REG_OK) {
        int e = errno ? errno : ECONNREFUSED; /* closed without an answer: refused */
        close(s);
        errno = e;
        return -1;
    }
    struct stat st;
    if (stat_fd(s, &st) == 0) {
        follow_dev = st.st_dev;
        follow_ino = st.st_ino;
    }
    follow_sock = s;
    return 0;
}

/* own_rings makes shared memory of the current geometry for this process
 * alone, registers it with pyprof, and writes there from now on. Returns 0,
 * or -1 with errno set (the old rings, if any, stay mapped, unused). */
static int own_rings(void)
{
    data_start = PYPROF_DATA_START(nslots);
    uint64_t size = data_start + (uint64_t)nslots * ring_bytes; /* sparse: pages come as rings are written */
    /* The system call, not glibc's wrapper (2.27+), so that one build loads
     * on older C libraries too. */
    int fd = (int)syscall(SYS_memfd_create, "pyprof-rings", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    uint8_t *mem = MAP_FAILED;
    ring_map *maps = PyMem_Calloc(nslots, sizeof *maps);
    int registered = -1;
    errno = ENOMEM;
    /* Sealed: pyprof maps what we send and must never fault on it. */
    if (maps && ftruncate(fd, (off_t)size) == 0 &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0 &&
        (mem = mmap(NULL, data_start, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED) {
        write_header(mem);
        Py_BEGIN_ALLOW_THREADS
        registered = register_rings(fd);
        Py_END_ALLOW_THREADS
    }
    if (registered < 0) {
        int e = errno;
        if (mem != MAP_FAILED)
            munmap(mem, data_start);
        PyMem_Free(maps);
        close(fd);
        errno = e;
        return -1;
    }
    forget_rings(); /* the parent's, in a forked child */
    if (shm)
        munmap(shm, shm_size);
    shm = mem;
    shm_size = data_start;
    ring_maps = maps;
    /* Kept, to map rings as threads come (pyprof has its own descriptor). */
    if (keep_fd(fd, 0) < 0)
        close(fd);
    return 0;
}

/* renumber starts code and callable ids afresh: a followed child's ids
 * are its own, defined in its own rings. A new co_extra index leaves the
 * ids its parent stored in code objects unread. */
static int renumber(void)
{
    Py_ssize_t index = PyUnstable_Eval_RequestCodeExtraIndex(NULL);
    if (index < 0)
        return -1;
    extra_index = index;
    next_code_id = next_callable_id = 1;
    /* The objects the old table kept alive stay alive: a few types. */
    PyMem_Free(table);
    table = NULL;
    table_cap = table_len = 0;
    T.last_key = NULL; /* this thread is the process's only one */
    return 0;
}

static int set_follow_name(const char *name)
{
    if (strlen(name) >= sizeof follow_name) {
        PyErr_Format(PyExc_ValueError, "socket name too long: %s", name);
        return -1;
    }
    strcpy(follow_name, name);
    return 0;
}

static PyObject *map_rings(int fd)
{
    uint8_t *hdr = mmap(NULL, PYPROF_HDR_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    if (hdr == MAP_FAILED)
        return PyErr_SetFromErrno(PyExc_OSError);
    int ok = *U64(hdr, PYPROF_HDR_MAGIC) == PYPROF_WIRE_MAGIC &&
             *U32(hdr, PYPROF_HDR_VERSION) == PYPROF_WIRE_VERSION;
    nslots = *U32(hdr, PYPROF_HDR_NSLOTS);
    ring_bytes = *U64(hdr, PYPROF_HDR_RING_BYTES);
    data_start = *U64(hdr, PYPROF_HDR_DATA_START);
    use_tsc = *U32(hdr, PYPROF_HDR_CLOCK) == PYPROF_CLOCK_TSC;
    consumer_pid = (pid_t)*U64(hdr, PYPROF_HDR_CONSUMER_PID);
    consumer_is_parent = consumer_pid == getppid();
    munmap(hdr, PYPROF_HDR_SIZE);
    if (!ok || ring_bytes < 4096 || (ring_bytes & (ring_bytes - 1)) || nslots < 1 ||
        data_start != PYPROF_DATA_START(nslots))
        return PyErr_Format(PyExc_ValueError, "shared memory does not hold pyprof wire format %d",
                            PYPROF_WIRE_VERSION);
#ifndef PYPROF_HAVE_TSC
    if (use_tsc)
        return PyErr_Format(PyExc_ValueError, "no TSC on this machine");
#endif
    ring_maps = PyMem_Calloc(nslots, sizeof *ring_maps);
    if (!ring_maps) {
        errno = ENOMEM;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    /* The header and the control blocks; rings are mapped as threads come,
     * from a descriptor of our own: the bootstrap closes the one it passed. */
    shm_size = data_start;
    shm = mmap(NULL, shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shm == MAP_FAILED || keep_fd(fd, 1) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        if (shm != MAP_FAILED)
            munmap(shm, shm_size);
        shm = NULL;
        PyMem_Free(ring_maps);
        ring_maps = NULL;
        return NULL;
    }
    *U64(shm, PYPROF_HDR_AGENT_PID) = (uint64_t)getpid();
    RETURN_NONE;
}

/* setup does what every agent needs once per process, whoever made the rings. */
static int setup(PyObject *hidden)
{
    if (shm) {
        PyErr_Format(PyExc_RuntimeError, "agent already initialised");
        return -1;
    }
    PyObject *old = hidden_files;
    hidden_files = PyFrozenSet_New(hidden);
    Py_DecRef(old);
    if (!hidden_files)
        return -1;
    if (pthread_key_create(&exit_key, on_thread_exit) != 0 || pthread_atfork(NULL, NULL, after_fork_child) != 0) {
        PyErr_Format(PyExc_RuntimeError, "cannot register thread and fork hooks");
        return -1;
    }
    return 0;
}

static PyObject *agent_init(PyObject *m, PyObject *args)
{
    (void)m;
    int fd;
    PyObject *hidden;
    if (!PyArg_ParseTuple(args, "iO:init", &fd, &hidden))
        return NULL;
    if (setup(hidden) < 0)
        return NULL;
    return map_rings(fd);
}

/* init_child starts the agent of a new interpreter the program started:
 * it makes rings of its own with the geometry pyprof gave and registers
 * them on pyprof's socket. */
static PyObject *agent_init_child(PyObject *m, PyObject *args)
{
    (void)m;
    PyObject *hidden;
    unsigned int n, clock;
    unsigned long long rb, consumer;
    const char *name;
    if (!PyArg_ParseTuple(args, "OIKIKs:init_child", &hidden, &n, &rb, &clock, &consumer, &name))
        return NULL;
    if (n < 1 || rb < 4096 || (rb & (rb - 1)) || (clock != PYPROF_CLOCK_TSC && clock != PYPROF_CLOCK_MONOTONIC))
        return PyErr_Format(PyExc_ValueError, "bad ring geometry");
#ifndef PYPROF_HAVE_TSC
    if (clock == PYPROF_CLOCK_TSC)
        return PyErr_Format(PyExc_ValueError, "no TSC on this machine");
#endif
    if (set_follow_name(name) < 0 || setup(hidden) < 0)
        return NULL;
    nslots = n;
    ring_bytes = rb;
    use_tsc = clock == PYPROF_CLOCK_TSC;
    consumer_pid = (pid_t)consumer;
    consumer_is_parent = consumer_pid == getppid();
    if (own_rings() < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    RETURN_NONE;
}

static PyObject *agent_start(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    if (!shm)
        return PyErr_Format(PyExc_RuntimeError, "agent not initialised");
    recording = 1;
    __atomic_store_n(U32(shm, PYPROF_HDR_STATUS), PYPROF_STATUS_RECORDING, __ATOMIC_RELEASE);
    RETURN_NONE;
}

static PyObject *agent_follow(PyObject *m, PyObject *args)
{
    (void)m;
    const char *name;
    if (!PyArg_ParseTuple(args, "s:follow", &name) || set_follow_name(name) < 0)
        return NULL;
    RETURN_NONE;
}

static PyObject *agent_set_thread_name(PyObject *m, PyObject *name);

/* forked runs in a forked child, from an os.register_at_fork hook: by then
 * the pthread_atfork handler has stopped recording and CPython has made
 * this thread the only one. When children are followed, the child gets
 * rings of its own, registered with pyprof, and records from here on,
 * with ids of its own; otherwise it stays unprofiled. Returns whether it
 * records; raises when it could not follow. */
static PyObject *agent_forked(PyObject *m, PyObject *args)
{
    PyObject *name = NULL;
    if (!PyArg_ParseTuple(args, "|O:forked", &name))
        return NULL;
    if (!shm || !follow_name[0])
        return PyBool_FromLong(0);
    if (renumber() < 0)
        return PyErr_Format(PyExc_RuntimeError, "no code extra index left");
    consumer_is_parent = consumer_pid == getppid();
    if (own_rings() < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    recording = 1;
    __atomic_store_n(U32(shm, PYPROF_HDR_STATUS), PYPROF_STATUS_RECORDING, __ATOMIC_RELEASE);
    if (name && name != Py_None) {
        PyObject *r = agent_set_thread_name(m, name);
        Py_DecRef(r);
        if (!r)
            return NULL;
    }
    return PyBool_FromLong(1);
}

static PyObject *agent_stop(PyObject *m, PyObject *unused)
{
    (void)m, (void)unused;
    recording = 0;
    RETURN_NONE;
}

static PyObject *agent_set_thread_name(PyObject *m, PyObject *name)
{
    (void)m;
    thread_state *t = &T;
    if (ready(t)) {
        buffer b = {0};
        buf_str(&b, name);
        if (!b.failed)
            put_ext(t, PYPROF_X_THREAD_NAME, b.p, b.len);
        PyMem_Free(b.p);
    }
    RETURN_NONE;
}

static PyObject *agent_on_orphan(PyObject *m, PyObject *handler)
{
    (void)m;
    PyObject *old = orphan_handler;
    Py_IncRef(handler);
    orphan_handler = handler;
    Py_DecRef(old);
    RETURN_NONE;
}

static PyObject *agent_fail(PyObject *m, PyObject *args)
{
    (void)m;
    unsigned int status;
    const char *msg;
    if (!PyArg_ParseTuple(args, "Is:fail", &status, &msg))
        return NULL;
    if (shm) {
        strncpy((char *)shm + PYPROF_HDR_ERROR, msg, PYPROF_HDR_ERROR_LEN - 1);
        __atomic_store_n(U32(shm, PYPROF_HDR_STATUS), status, __ATOMIC_RELEASE);
    }
    RETURN_NONE;
}

#define FASTCALL(name, fn) {name, (PyCFunction)(void (*)(void))fn, METH_FASTCALL, NULL}

static PyMethodDef agent_methods[] = {
    {"init", agent_init, METH_VARARGS, "init(fd, hidden_files): map the rings pyprof created"},
    {"init_child", agent_init_child, METH_VARARGS,
     "init_child(hidden_files, nslots, ring_bytes, clock, consumer_pid, socket): make rings and register them"},
    {"follow", agent_follow, METH_VARARGS, "follow(socket): forked children register rings of their own there"},
    {"forked", agent_forked, METH_VARARGS, "forked([thread_name]): in a forked child, record into rings of its own"},
    {"start", agent_start, METH_NOARGS, "start recording"},
    {"stop", agent_stop, METH_NOARGS, "stop recording"},
    {"set_thread_name", agent_set_thread_name, METH_O, "record the calling thread's name"},
    {"on_orphan", agent_on_orphan, METH_O, "on_orphan(f): call f() in the main thread if pyprof dies"},
    {"fail", agent_fail, METH_VARARGS, "fail(status, message): tell pyprof why the agent did not start"},
    {"frame_sites", agent_frame_sites, METH_O,
     "frame_sites(on): read call sites from the caller's frame at PY_START (no CALL events); returns whether on"},
    FASTCALL("py_start", on_py_start),
    FASTCALL("py_resume", on_py_resume),
    FASTCALL("py_throw", on_py_throw),
    FASTCALL("py_return", on_py_return),
    FASTCALL("py_yield", on_py_yield),
    FASTCALL("py_unwind", on_py_unwind),
    FASTCALL("call", on_call),
    FASTCALL("c_return", on_c_return),
    FASTCALL("c_raise", on_c_raise),
    FASTCALL("null", on_null),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef agent_module = {
    PyModuleDef_HEAD_INIT, "_pyprof_agent", "pyprof's in-process recording agent", -1, agent_methods,
    NULL, NULL, NULL, NULL,
};

/* The module's one exported symbol (the rest is hidden at build time). */
__attribute__((visibility("default"))) PyObject *PyInit__pyprof_agent(void)
{
    extra_index = PyUnstable_Eval_RequestCodeExtraIndex(NULL);
    if (extra_index < 0)
        return PyErr_Format(PyExc_ImportError, "pyprof's C agent: no code extra index left");
    const char *why = check_layout(extra_index);
    if (why)
        return PyErr_Format(PyExc_ImportError, "pyprof's C agent cannot run in this interpreter: %s", why);
    own_first = agent_methods;
    own_end = agent_methods + sizeof agent_methods / sizeof *agent_methods;
    get_tstate = PyThreadState_GetUnchecked ? PyThreadState_GetUnchecked : _PyThreadState_UncheckedGet;
    PyObject *mod = PyModule_Create2(&agent_module, PYTHON_ABI_VERSION);
    if (mod && PyModule_AddIntConstant(mod, "WIRE_VERSION", PYPROF_WIRE_VERSION) < 0) {
        Py_DecRef(mod);
        mod = NULL;
    }
    return mod;
}
