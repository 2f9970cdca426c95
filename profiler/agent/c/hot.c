/*
 * hot.c: the hot records, written on every event: one timestamp, one store.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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
