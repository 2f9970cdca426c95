/*
 * slots.c: giving each thread a slot and its ring, and closing it when the thread
 * ends.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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
