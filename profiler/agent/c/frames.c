/*
 * frames.c: reading call sites from the interpreter's frames (record
 * --native-calls=false).
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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

/* gil_holder, once gil_holder_checks found it right, is where the GIL
 * keeps its last holder. Events run with the GIL held, so its last holder
 * is the thread state of the thread the event is on: one load, where the
 * accessor above costs a call into libpython and, in a shared libpython,
 * a lookup of its thread-local variable (most of the cost of a frame tag,
 * read on every yield and resume). */
static PyThreadState *const *gil_holder;

static inline const uint8_t *field_ptr(const uint8_t *base, size_t off)
{
    return *(const uint8_t *const *)(base + off);
}

static inline const uint8_t *current_frame(void)
{
    const uint8_t *ts = gil_holder ? (const uint8_t *)*gil_holder : get_tstate ? (const uint8_t *)get_tstate() : NULL;
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

/* find_gil_holder sets gil_holder where the layout knows the GIL and its
 * last holder is the calling thread's state, which holds the GIL. */
static void find_gil_holder(void)
{
    if (gil_holder || !pyprof_layout.gil || !get_tstate)
        return;
    const uint8_t *interp = (const uint8_t *)PyInterpreterState_Get();
    const uint8_t *gil = interp ? field_ptr(interp, pyprof_layout.interp_gil) : NULL;
    PyThreadState *const *holder = gil ? (PyThreadState *const *)(gil + pyprof_layout.gil_holder) : NULL;
    if (holder && *holder == get_tstate())
        gil_holder = holder;
}

/* layout_checks tells whether the frame fields read above are where this
 * interpreter keeps them, comparing them with what the public API says of
 * the Python frame calling us and of its caller. */
static int layout_checks(void)
{
    if (!pyprof_layout.frames)
        return 0;
    find_gil_holder();
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

/* Frame tags (wire.h, PYPROF_TAG_MAX): CPython raises PY_YIELD, PY_RESUME
 * and PY_THROW in the generator's or coroutine's own frame, the current
 * one, which lives inside the generator object at one address for its
 * life; its tag lets pyprof tell apart the frames of one code suspended at
 * the same time. The tag is 1 plus 11 bits of a hash of the address over
 * 16 (frames are 16-byte aligned) that depends on every bit of it: the low
 * bits alone repeat every 32 KiB, and the allocator places the frames of
 * one code at the same few offsets of its pools (thousands of coroutines
 * of one function shared 170 of the 2,048 values). The hash must not be
 * linear either: a multiply alone (Fibonacci hashing) gives frames made
 * at the same stride the same run of tags, so two chains of generators,
 * each made frame after frame, could share the tag of every frame, and
 * pyprof tells chains apart by the tags of the frames they delegate to.
 * The xor of the product's halves between two multiplies breaks the
 * stride. Two multiplies on every yield and resume, where a modulo and a
 * check of the frame's code cost a generator-heavy program 3% more. It is
 * on where the layout check passed when recording started (agent_start);
 * PYPROF_TAG_NONE elsewhere. */
static int frame_tags_on, frame_tags_checked;

static inline uint32_t frame_tag(void)
{
    if (!frame_tags_on)
        return PYPROF_TAG_NONE;
    uint64_t h = ((uint64_t)(uintptr_t)current_frame() >> 4) * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 32)) * 0xD6E8FEB86659FD93ull;
    return 1 + (uint32_t)(h >> 53);
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
