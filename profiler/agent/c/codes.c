/*
 * codes.c: defining code objects and callables once, and the table that finds a
 * callable's id on every C call.
 *
 * Part of agent.c's one translation unit, which includes it: not
 * compiled on its own, so that hot functions stay static inline.
 */

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
 * globals of frame f, or NULL (exec with a bare dict has none). Only an
 * exact str names a module: the twin and sample mode, which reads the
 * object from outside, take nothing else either. */
static PyObject *globals_name(PyFrameObject *f)
{
    PyObject *globals = PyFrame_GetGlobals(f);
    PyObject *name = globals ? PyDict_GetItemString(globals, "__name__") : NULL; /* borrowed */
    if (name && Py_TYPE(name) == &PyUnicode_Type)
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

/* type_attr reads attribute name of type t as type itself reads it,
 * past a metaclass's __getattribute__ or __getattr__, which would run the
 * program's code inside a callback (and could raise, or print). New
 * reference, or NULL. */
static PyObject *type_attr(PyObject *t, const char *name)
{
    getattrofunc get = (getattrofunc)PyType_GetSlot(&PyType_Type, Py_tp_getattro);
    PyObject *key = get ? PyUnicode_FromString(name) : NULL;
    PyObject *v = key ? get(t, key) : NULL;
    Py_DecRef(key);
    return v;
}

/* defining_type returns the type, in start's MRO, whose own dictionary
 * holds a descriptor of kind (a method or a class method descriptor) for
 * def, NULL when none does. The dictionaries are read, not attributes
 * looked up: a lookup could run code of the program's (a descriptor's
 * __get__), inside a callback. Borrowed: the type stays alive as start's
 * base. */
static PyTypeObject *defining_type(PyTypeObject *start, PyMethodDef *def, PyTypeObject *kind)
{
    PyTypeObject *found = NULL;
    PyObject *mro = type_attr((PyObject *)start, "__mro__");
    if (mro && PyTuple_Check(mro)) {
        for (Py_ssize_t i = 0, n = PyTuple_Size(mro); i < n && !found; i++) {
            PyObject *base = PyTuple_GetItem(mro, i);
            PyObject *dict = base ? type_attr(base, "__dict__") : NULL;
            PyObject *d = dict ? PyMapping_GetItemString(dict, def->ml_name) : NULL;
            if (d && Py_TYPE(d) == kind && ((PyDescrObject *)d)->d_def == def)
                found = ((PyDescrObject *)d)->d_type;
            Py_DecRef(d);
            Py_DecRef(dict);
            PyErr_Clear();
        }
    }
    PyErr_Clear();
    Py_DecRef(mro);
    return found;
}

/* bound_owner returns the type that defines builtin method def, bound to
 * self: a class method (dict.fromkeys, datetime.datetime.now) is bound to
 * a class and named by the class that defines it, also when called
 * through a subclass; any other method by the type whose method
 * descriptor it is, which may be a base of self's type (random.getrandbits
 * is bound to a random.Random, a Python subclass of _random.Random, which
 * defines it), or the metatype for a method of a class's own (int.mro is
 * type.mro). Named so, a method has one name however and wherever it is
 * called. The lookup runs once per method: names are kept by
 * callable_key. Borrowed. */
static PyTypeObject *bound_owner(PyObject *self, PyMethodDef *def)
{
    PyTypeObject *owner = NULL;
    if (PyType_Check(self) && (def->ml_flags & METH_CLASS))
        owner = defining_type((PyTypeObject *)self, def, &PyClassMethodDescr_Type);
    else
        owner = defining_type(Py_TYPE(self), def, &PyMethodDescr_Type);
    if (owner)
        return owner;
    return PyType_Check(self) && (def->ml_flags & METH_CLASS) ? (PyTypeObject *)self : Py_TYPE(self);
}

static PyObject *callable_name(PyObject *c)
{
    if (is_builtin(c)) {
        PyCFunctionObject *f = (PyCFunctionObject *)c;
        if (f->m_self && !is_module(f->m_self)) {
            PyObject *method = PyUnicode_FromFormat("%s", f->m_ml->ml_name);
            PyObject *name = method_name(bound_owner(f->m_self, f->m_ml), method);
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
