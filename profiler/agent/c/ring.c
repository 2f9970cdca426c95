/*
 * ring.c: a thread's ring: mapping it as it fills, waiting for room while pyprof
 * drains it, noticing pyprof gone, and writing words and extended records.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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

/* consumer_silent tells whether pyprof, alive, has not drained the rings for
 * PYPROF_SILENT_NS since `since`, when the producer last woke from a stop
 * of its own: stopped (SIGSTOP, a debugger) or starved of CPU. A producer
 * waiting for room then stops recording rather than hold the program for
 * as long as that lasts, and says when in the header. A heartbeat of 0 is
 * a consumer that has not drained yet. A stop of the whole job (Ctrl-Z)
 * stops pyprof too: after it the producer gives pyprof the whole time
 * again, counted from its own waking. */
static int consumer_silent(uint64_t now, uint64_t since)
{
    uint64_t beat = __atomic_load_n(U64(shm, PYPROF_HDR_HEARTBEAT), __ATOMIC_RELAXED);
    if (beat == 0)
        return 0;
    if (since > beat)
        beat = since;
    return now > beat && now - beat > PYPROF_SILENT_NS;
}

/* wait_for_room blocks until n more bytes fit: no event is dropped while the
 * consumer lives and drains. Returns 0 when the consumer is gone or silent. Most calls only
 * refresh the cached limit, room being there: the clock is read, and the
 * wait counted, only once the ring is really full. */
static int wait_for_room(thread_state *t, uint64_t n)
{
    uint64_t rpos = __atomic_load_n(U64(t->slot, PYPROF_SLOT_READ_POS), __ATOMIC_ACQUIRE);
    t->limit = room_limit(t, rpos);
    if (t->wpos + n <= t->limit)
        return 1;
    uint64_t started = mono_ns(), checked = started, last = started, woke = 0;
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
        if (now - last > 1000000000u)
            woke = now; /* a 50 us nap that took a second: this process was stopped */
        last = now;
        if (now - checked > 100000000u) {
            checked = now;
            int silent = consumer_silent(now, woke);
            if (silent)
                __atomic_store_n(U64(shm, PYPROF_HDR_GAVE_UP), now, __ATOMIC_RELAXED);
            if (silent || !consumer_alive()) {
                /* The program waited all the same: said, as a wait that
                 * ends in room is. */
                *U64(t->slot, PYPROF_SLOT_WAIT_NS) += now - started;
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
