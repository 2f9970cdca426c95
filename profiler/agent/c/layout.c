/*
 * layout.c: finds, when the agent loads, where this interpreter keeps the
 * internal fields the agent reads, and checks pyabi.h's declarations
 * against the public API on live objects. Where anything is off the
 * agent refuses to load and pyprof records with its pure-Python twin:
 * better slower than wrong.
 */
#include <string.h>

#include "layout.h"

py_layout pyprof_layout;

/* _Py_DebugOffsets opens _PyRuntime from 3.13 on: a cookie, the version,
 * then sections of uint64 offsets, each section starting with a size.
 * Weak: resolved only where the interpreter exports it. */
extern const uint64_t _PyRuntime[] __attribute__((weak));

enum { SENTINEL = 0x5059 };

static int same_name(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static PyObject *eval(const char *expr)
{
    PyObject *globals = PyDict_New();
    if (!globals)
        return NULL;
    PyObject *r = NULL;
    if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) == 0)
        r = PyRun_String(expr, Py_eval_input, globals, globals);
    Py_DecRef(globals);
    return r;
}

/* find_co_extra sets one extra slot on a fresh code object and sees which
 * pointer field of it changed from NULL: that is co_extra, and it must lead
 * to the value set. Nothing but that field changes (PEP 523's API). */
static const char *find_co_extra(PyObject *code, Py_ssize_t index)
{
    enum { MAX = 1024 };
    uint8_t before[MAX];
    size_t size = pyprof_layout.co_code;
    if (size < sizeof(PyVarObject) || size > MAX)
        return "code objects have an unexpected size";
    memcpy(before, code, size);
    if (PyUnstable_Code_SetExtra(code, index, (void *)(uintptr_t)SENTINEL) < 0) {
        PyErr_Clear();
        return "cannot set a code object's extra slot";
    }
    int found = 0;
    for (size_t off = sizeof(PyVarObject); off + sizeof(void *) <= size; off += sizeof(void *)) {
        void *was, *now;
        memcpy(&was, before + off, sizeof was);
        memcpy(&now, (uint8_t *)code + off, sizeof now);
        if (was == now)
            continue;
        code_extra *extra = now;
        if (was || !extra || extra->ce_size <= index || extra->ce_extras[index] != (void *)(uintptr_t)SENTINEL)
            return "a code object changed in an unexpected way";
        pyprof_layout.co_extra = off;
        found++;
    }
    PyUnstable_Code_SetExtra(code, index, NULL);
    return found == 1 ? NULL : "cannot find a code object's extra slots";
}

/* find_func_code looks for a function's code among its first fields. */
static const char *find_func_code(PyObject *f)
{
    PyObject *code = PyFunction_GetCode(f); /* borrowed */
    for (size_t off = sizeof(PyObject); off < 12 * sizeof(void *); off += sizeof(void *)) {
        if (*(PyObject **)((uint8_t *)f + off) == code) {
            pyprof_layout.func_code = off;
            return NULL;
        }
    }
    return "cannot find a function's code";
}

static const char *check_callables(PyObject *const *o)
{
    PyCFunctionObject *len = (PyCFunctionObject *)o[2], *append = (PyCFunctionObject *)o[3];
    PyDescrObject *method = (PyDescrObject *)o[4], *classmethod = (PyDescrObject *)o[5],
                  *wrapper = (PyDescrObject *)o[6];
    if (Py_TYPE(o[1]) != &PyMethod_Type || ((PyMethodObject *)o[1])->im_func != PyMethod_Function(o[1]))
        return "bound methods differ";
    if (Py_TYPE(len) != &PyCFunction_Type || !same_name(len->m_ml->ml_name, "len") ||
        len->m_self != PyCFunction_GetSelf((PyObject *)len) || !len->m_module || !PyUnicode_Check(len->m_module))
        return "builtin functions differ";
    if (Py_TYPE(append->m_self) != &PyList_Type || !same_name(append->m_ml->ml_name, "append"))
        return "builtin methods differ";
    if (Py_TYPE(method) != &PyMethodDescr_Type || method->d_type != &PyList_Type ||
        !same_name(((PyMethodDef *)method->d_def)->ml_name, "append") || !PyUnicode_Check(method->d_name))
        return "method descriptors differ";
    if (Py_TYPE(classmethod) != &PyClassMethodDescr_Type ||
        !same_name(((PyMethodDef *)classmethod->d_def)->ml_name, "fromkeys"))
        return "class method descriptors differ";
    /* A slot wrapper's definition (struct wrapperbase) starts with its name. */
    if (Py_TYPE(wrapper) != &PyWrapperDescr_Type || !same_name(*(const char *const *)wrapper->d_def, "__init__"))
        return "slot wrappers differ";
    return NULL;
}

/* compact_value reads a small int as site_of does on the hot path. */
static int compact_value(PyObject *o, long *v)
{
    PyLongObject *l = (PyLongObject *)o;
    if (Py_TYPE(o) != &PyLong_Type || l->lv_tag >= (2 << 3))
        return 0;
    *v = (long)(1 - (long)(l->lv_tag & 3)) * (long)l->ob_digit[0];
    return 1;
}

static const char *check_ints(void)
{
    static const long values[] = {0, 1, 7, -5, 1000000};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        PyObject *o = PyLong_FromLong(values[i]);
        long v;
        int ok = o && compact_value(o, &v) && v == values[i];
        Py_DecRef(o);
        if (!ok)
            return "ints differ";
    }
    return NULL;
}

/* find_frames takes the frame fields from the built-in table of 3.12 or
 * from the interpreter's own _Py_DebugOffsets (3.13 and 3.14, whose
 * sections before the frame's have a known number of fields). */
static void find_frames(unsigned minor)
{
    py_layout *L = &pyprof_layout;
    if (minor == 12) {
        L->via_cframe = 1;
        L->ts_frame = 56;
        L->fr_code = 0;
        L->fr_previous = 8;
        L->fr_instr = 56;
        L->fr_owner = 70;
        L->frames = 1;
        L->interp_gil = 384;
        L->gil_holder = 8;
        L->gil = 1;
        return;
    }
    size_t interp_fields = minor == 13 ? 13 : minor == 14 ? 16 : 0;
    const uint64_t *d = _PyRuntime;
    if (!interp_fields || !d || memcmp(d, "xdebugpy", 8) != 0 || d[1] >> 16 != Py_Version >> 16 || d[2] != 0)
        return;
    const uint64_t *interp = d + 6, *thread = interp + interp_fields, *frame = thread + 9;
    if (frame[0] > 256 || frame[1] != sizeof(void *) || frame[3] >= frame[0] || frame[5] >= frame[0])
        return;
    L->ts_frame = thread[4];
    L->fr_previous = frame[1];
    L->fr_code = frame[2];
    L->fr_instr = frame[3];
    L->fr_owner = frame[5];
    L->frames = 1;
    /* The interpreter section: ceval.gil, then the embedded GIL's own
     * offset and its holder's (3.14 has threads_main before gc). */
    const uint64_t *gil = minor == 13 ? interp + 8 : interp + 9;
    if (gil[0] < interp[0] && gil[1] < interp[0] && gil[4] > gil[1] && gil[4] - gil[1] < 256) {
        L->interp_gil = gil[0];
        L->gil_holder = gil[4] - gil[1];
        L->gil = 1;
    }
}

const char *check_layout(Py_ssize_t extra_index)
{
    if (Py_Version < 0x030C0000)
        return "it needs CPython 3.12 or newer";
    /* Free-threaded builds keep the type further into each object. */
    if (Py_TYPE(&PyType_Type) != &PyType_Type)
        return "objects are laid out differently (a free-threaded build?)";
    if (PyType_FastFlags(&PyList_Type) != PyType_GetFlags(&PyList_Type) ||
        PyType_FastFlags(&PyType_Type) != PyType_GetFlags(&PyType_Type))
        return "type flags differ";
    PyObject *basicsize = PyObject_GetAttrString((PyObject *)&PyCode_Type, "__basicsize__");
    long code_size = basicsize ? PyLong_AsLong(basicsize) : -1;
    Py_DecRef(basicsize);
    PyErr_Clear();
    if (code_size <= 0)
        return "cannot size code objects";
    pyprof_layout.co_code = (size_t)code_size; /* code units follow the fixed part */
    PyObject *samples = eval("(lambda: 0, (lambda: 0).__get__(1), len, [].append, list.append, "
                             "dict.__dict__['fromkeys'], object.__dict__['__init__'])");
    if (!samples) {
        PyErr_Clear();
        return "cannot make sample objects";
    }
    PyObject *o[7];
    for (Py_ssize_t i = 0; i < 7; i++)
        o[i] = PyTuple_GetItem(samples, i);
    const char *why = check_ints();
    if (!why)
        why = Py_TYPE(o[0]) == &PyFunction_Type ? find_func_code(o[0]) : "functions differ";
    if (!why)
        why = check_callables(o);
    if (!why)
        why = find_co_extra(PyFunction_GetCode(o[0]), extra_index);
    Py_DecRef(samples);
    if (!why)
        find_frames((unsigned)(Py_Version >> 16) & 0xFF);
    return why;
}
