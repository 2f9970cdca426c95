/*
 * wire.h: the one definition of pyprof's wire format, shared by the C agent
 * (agent.c), checked against the Go reader (profiler/wire) and the pure-Python
 * twin (twin.py) by tests. Change it here, bump PYPROF_WIRE_VERSION, and the
 * tests on every side say what else must follow.
 *
 * Shared memory is one memfd that pyprof (the consumer) creates and the
 * target inherits: a header page, then the control blocks of
 * PYPROF_HDR_NSLOTS slots, then their rings. A slot is a
 * single-producer/single-consumer ring owned by one Python thread at a time.
 * A followed child process makes its own (see the end of this file).
 * All integers are little-endian.
 *
 * The memfd is sized for every slot but costs only what is written: the
 * control blocks are dense, so that the consumer scans a few pages, not a
 * page per slot; the agent maps a slot's ring only once a thread takes it,
 * a little of it at first and more as the write position grows (a thread
 * that writes little never maps its whole ring), and pyprof reads rings
 * with pread, mapping none; before pyprof frees a slot, it gives the pages
 * its thread wrote back to the system (a hole punched in the memfd), but
 * for the first 64 KiB, which the agent keeps mapped for the slot's next
 * thread.
 */
#ifndef PYPROF_WIRE_H
#define PYPROF_WIRE_H

#define PYPROF_WIRE_MAGIC 0x3146525059505950ULL /* "PYPYPRF1" */
#define PYPROF_WIRE_VERSION 4

/* ---- header (the first page) -------------------------------------------- */

#define PYPROF_HDR_SIZE 4096
#define PYPROF_HDR_MAGIC 0            /* u64 PYPROF_WIRE_MAGIC */
#define PYPROF_HDR_VERSION 8          /* u32 PYPROF_WIRE_VERSION */
#define PYPROF_HDR_NSLOTS 12          /* u32 number of ring slots */
#define PYPROF_HDR_RING_BYTES 16      /* u64 data bytes per ring, a power of two */
#define PYPROF_HDR_DATA_START 24      /* u64 offset of slot 0's ring: PYPROF_DATA_START(nslots) */
#define PYPROF_HDR_CLOCK 32           /* u32 PYPROF_CLOCK_*: chosen by the consumer */
#define PYPROF_HDR_STATUS 36          /* u32 PYPROF_STATUS_*: written by the agent */
#define PYPROF_HDR_CONSUMER_PID 40    /* u64 pid of pyprof, checked by a waiting producer */
#define PYPROF_HDR_AGENT_PID 48       /* u64 pid of the process that owns the rings */
#define PYPROF_HDR_LOST_NO_SLOT 56    /* u64 events dropped: no free slot for a thread, or no room in
                                       * its ring for a record (PYPROF_MAX_RECORD_SHARE) */
#define PYPROF_HDR_LOST_NO_CONSUMER 64 /* u64 events dropped: the consumer died */
#define PYPROF_HDR_HEARTBEAT 72       /* u64 consumer's CLOCK_MONOTONIC ns, refreshed while it drains */
#define PYPROF_HDR_LOST_NO_MEMORY 80  /* u64 events dropped: no address space to map a ring (ulimit -v) */
#define PYPROF_HDR_SLOTS_USED 88      /* u32 one more than the highest slot ever taken: the consumer
                                       * scans no further; producers raise it with release */
#define PYPROF_HDR_GAVE_UP 96         /* u64 CLOCK_MONOTONIC ns when a producer waiting for room found no
                                       * heartbeat for PYPROF_SILENT_NS and stopped recording; 0: never */
#define PYPROF_SILENT_NS 5000000000ULL /* how long a consumer that lives may leave full rings undrained */
#define PYPROF_HDR_ERROR 1024         /* char[PYPROF_HDR_ERROR_LEN], NUL-terminated, for PYPROF_STATUS_ERROR */
#define PYPROF_HDR_ERROR_LEN 1024

#define PYPROF_CLOCK_TSC 1        /* rdtsc ticks; the consumer calibrates */
#define PYPROF_CLOCK_MONOTONIC 2  /* CLOCK_MONOTONIC nanoseconds */

#define PYPROF_STATUS_STARTING 0
#define PYPROF_STATUS_RECORDING 1
#define PYPROF_STATUS_ERROR 2      /* the agent could not start; see PYPROF_HDR_ERROR */
#define PYPROF_STATUS_TOOL_TAKEN 3 /* the tool id is taken; the message names the owner */
#define PYPROF_STATUS_BAD_PROGRAM 4 /* the program does not compile; the message says where */
#define PYPROF_STATUS_WRONG_PYTHON 5 /* the interpreter is not the one pyprof probed */

/* ---- a slot: its control block, and its ring ----------------------------
 * Slot i's control block is at PYPROF_HDR_SIZE + i * PYPROF_SLOT_CTRL_SIZE;
 * its ring of PYPROF_HDR_RING_BYTES at PYPROF_HDR_DATA_START + i * ring
 * bytes, the rings starting on the first page boundary after the last
 * control block. */
#define PYPROF_DATA_ALIGN 4096 /* the rings start on a boundary of this many bytes */
#define PYPROF_DATA_START(nslots)                                                                  \
    (PYPROF_HDR_SIZE + (((unsigned long long)(nslots) * PYPROF_SLOT_CTRL_SIZE + PYPROF_DATA_ALIGN - 1) & \
                        ~(unsigned long long)(PYPROF_DATA_ALIGN - 1)))

/* Producer and consumer positions sit on separate cache lines so that the
 * consumer's polling never steals the producer's line. */
#define PYPROF_SLOT_WRITE_POS 0   /* u64 bytes ever written; producer stores with release */
#define PYPROF_SLOT_STATE 8       /* u32 PYPROF_SLOT_* */
#define PYPROF_SLOT_GENERATION 12 /* u32 incremented each time a thread takes the slot */
#define PYPROF_SLOT_WAIT_NS 16    /* u64 ns the producer waited for room */
#define PYPROF_SLOT_READ_POS 64   /* u64 bytes ever consumed; consumer stores with release */
#define PYPROF_SLOT_CTRL_SIZE 128 /* bytes of one control block */

#define PYPROF_SLOT_FREE 0   /* the consumer reset it; a producer may take it */
#define PYPROF_SLOT_OWNED 1  /* a live thread writes into it */
#define PYPROF_SLOT_CLOSED 2 /* its thread ended; the consumer drains and frees it */

/* ---- records -------------------------------------------------------------
 * A hot record is one 64-bit word:
 *
 *   63..60 kind   59..40 id   39..28 site   27..0 tick delta
 *
 * id: the code id (PY_*) or callable id (C_*); site: the caller's call-site
 * instruction offset in code units (PY_START, C_CALL), PYPROF_SITE_NONE when
 * unknown, or the frame tag (PY_YIELD, PY_RESUME, PY_THROW; see
 * PYPROF_TAG_MAX); delta: ticks since the previous record of this ring.
 * A value that does not fit its field is sent in an extended record just
 * before (BIG_ID, BIG_SITE, TIME) and the field is left zero.
 *
 * An extended record (kind PYPROF_K_EXT) is a word
 *
 *   63..60 0   59..52 subkind   51..28 payload bytes   27..0 tick delta
 *
 * followed by the payload padded with zeros to a multiple of 8 bytes.
 */
#define PYPROF_KIND_SHIFT 60
#define PYPROF_ID_SHIFT 40
#define PYPROF_ID_BITS 20
#define PYPROF_SITE_SHIFT 28
#define PYPROF_SITE_BITS 12
#define PYPROF_DELTA_BITS 28
#define PYPROF_SITE_NONE 0xFFF /* all site bits set: call site unknown */
/* A frame tag tells apart the generator and coroutine frames of one code
 * object suspended at the same time, so that pyprof resumes each where it
 * suspended: a number from 1 to PYPROF_TAG_MAX made of the address of the
 * frame (a generator keeps its frame inside itself, at one address for its
 * life), PYPROF_TAG_NONE where the agent cannot read frames. Two frames
 * may share a tag. It never needs a PYPROF_X_BIG_SITE. */
#define PYPROF_TAG_NONE 0
#define PYPROF_TAG_MAX 4094
#define PYPROF_SUB_SHIFT 52
#define PYPROF_LEN_SHIFT 28
#define PYPROF_LEN_BITS 24

#define PYPROF_K_EXT 0
#define PYPROF_K_PY_START 1
#define PYPROF_K_PY_RESUME 2
#define PYPROF_K_PY_THROW 3
#define PYPROF_K_PY_RETURN 4
#define PYPROF_K_PY_YIELD 5
#define PYPROF_K_PY_UNWIND 6
#define PYPROF_K_C_CALL 7
#define PYPROF_K_C_RETURN 8
#define PYPROF_K_C_RAISE 9

/* Extended subkinds and their payloads (u32/u64 little-endian; a "string"
 * is a u32 byte length then UTF-8 bytes, unpadded). */
#define PYPROF_X_THREAD 1     /* u64 native tid, u64 thread ident, u64 absolute ticks; first in a ring */
#define PYPROF_X_THREAD_NAME 2 /* string */
#define PYPROF_X_CODE 3       /* u32 id, u32 first line, u32 flags, string qualname, string filename,
                               * string module, u32 n, n x (u32 start code unit, i32 line or -1);
                               * module is the __name__ in the globals of the code's first frame,
                               * empty when unknown */
#define PYPROF_X_CALLABLE 4   /* u32 id, string name */
#define PYPROF_X_TIME 5       /* u64 absolute ticks */
#define PYPROF_X_BIG_ID 6     /* u32 id for the next hot record */
#define PYPROF_X_BIG_SITE 7   /* u32 site for the next hot record */

#define PYPROF_CODE_HIDDEN 1  /* pyprof's own start-up code: not shown in profiles */

/* What the agent keeps of a definition, so that every record has a bound:
 * the largest is an X_CODE with three strings of PYPROF_MAX_STRING bytes
 * and PYPROF_MAX_LINES rows. A record may take at most 1/PYPROF_MAX_RECORD_SHARE
 * of a ring; pyprof refuses rings too small for the largest, and an agent
 * given one counts a record that does not fit as lost, never drops it
 * unseen. */
#define PYPROF_MAX_STRING 4096
#define PYPROF_MAX_LINES 65536
#define PYPROF_MAX_RECORD_SHARE 2

/* ---- child processes (record --subprocesses) -----------------------------
 * A child process pyprof follows (forked, or a new interpreter the program
 * started) never writes into its parent's rings: it creates a memfd of its
 * own laid out as above (the header written by the agent, with pyprof's
 * geometry and consumer pid and the child's own clock), seals it against
 * shrinking, and hands it to pyprof over pyprof's SOCK_SEQPACKET Unix
 * socket: one message of PYPROF_REG_SIZE bytes with the memfd attached as
 * SCM_RIGHTS. pyprof answers one byte, PYPROF_REG_OK, once it drains those
 * rings; the child records only then. The connection stays open while the
 * child lives: its end tells pyprof that the child exited.
 */
#define PYPROF_REG_SIZE 24
#define PYPROF_REG_MAGIC 0    /* u64 PYPROF_WIRE_MAGIC */
#define PYPROF_REG_VERSION 8  /* u32 PYPROF_WIRE_VERSION; u32 zero follows */
#define PYPROF_REG_PID 16     /* u64 the child's pid */
#define PYPROF_REG_OK 1       /* pyprof's answer: the rings are drained from now on */

#endif /* PYPROF_WIRE_H */
