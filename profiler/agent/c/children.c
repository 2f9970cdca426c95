/*
 * children.c: forked children and new interpreters: rings of their own, registered
 * with pyprof.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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
