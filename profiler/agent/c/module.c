/*
 * module.c: set-up: mapping pyprof's rings, the module's control functions and its
 * init function.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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
    if (!frame_tags_checked) {
        /* Called from Python, whose frames the check compares. */
        frame_tags_on = layout_checks();
        frame_tags_checked = 1;
    }
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
