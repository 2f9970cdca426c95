/*
 * callbacks.c: the sys.monitoring callbacks: the hot path's entry points.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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
            /* A function entered with no CALL of its own (a generator run
             * by C code iterating it, a property, __getitem__, __enter__)
             * takes its site from the caller's frame, where frames were
             * found readable when recording started. */
            site = t->pending_code == args[0] ? t->pending_site
                   : frame_tags_on            ? frame_site(args[0])
                                              : PYPROF_SITE_NONE;
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

CODE_EVENT(on_py_return, PYPROF_K_PY_RETURN)
CODE_EVENT(on_py_unwind, PYPROF_K_PY_UNWIND)

/* The events of a generator or coroutine frame leaving or coming back
 * carry its frame tag in the site field (wire.h). */
#define TAGGED_EVENT(fn, kind)                                                 \
    static PyObject *fn(PyObject *m, PyObject *const *args, Py_ssize_t n)      \
    {                                                                          \
        (void)m;                                                               \
        thread_state *t = &T;                                                  \
        if (n >= 2 && ready(t))                                                \
            put_hot(t, kind, code_id(t, args[0]), frame_tag());                \
        RETURN_NONE;                                                        \
    }

TAGGED_EVENT(on_py_resume, PYPROF_K_PY_RESUME)
TAGGED_EVENT(on_py_throw, PYPROF_K_PY_THROW)
TAGGED_EVENT(on_py_yield, PYPROF_K_PY_YIELD)

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
