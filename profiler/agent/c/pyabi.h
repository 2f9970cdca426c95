/*
 * pyabi.h: the part of CPython's C API the agent calls, declared here so
 * that one build serves every CPython from 3.12 on (with the GIL), with no
 * Python.h at build time.
 *
 * Functions and type objects are the ones CPython exports from its shared
 * library or executable under these names in every release the agent
 * supports; the dynamic linker binds them when the interpreter loads the
 * agent. Those that exist only in some releases are weak: NULL elsewhere.
 *
 * Object layouts are declared only where the agent reads a field on a hot
 * path, and then only the fields that have kept their place since 3.12:
 * each is checked against the public API when the module loads
 * (layout.c: check_layout), and the agent refuses to load where one is not
 * where this file says. Fields that moved between releases (a code object's
 * co_extra, the frame and thread-state fields) are never declared: their
 * offsets are found at load time.
 */
#ifndef PYPROF_PYABI_H
#define PYPROF_PYABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef ssize_t Py_ssize_t;
typedef struct _typeobject PyTypeObject;

/* Every object starts with its reference count and type (GIL builds; the
 * free-threaded layout differs and is refused before loading). */
typedef struct {
    Py_ssize_t ob_refcnt;
    PyTypeObject *ob_type;
} PyObject;

typedef struct {
    PyObject ob_base;
    Py_ssize_t ob_size;
} PyVarObject;

#define Py_TYPE(o) (((PyObject *)(o))->ob_type)
#define Py_SIZE(o) (((PyVarObject *)(o))->ob_size)

/* None is immortal from 3.12 on: the interpreter neither counts references
 * to it nor frees it, so a callback may return it without an increment. */
extern PyObject _Py_NoneStruct;
#define Py_None (&_Py_NoneStruct)

typedef PyObject *(*PyCFunction)(PyObject *, PyObject *);

/* PyMethodDef and PyModuleDef are part of the stable ABI. */
typedef struct PyMethodDef {
    const char *ml_name;
    PyCFunction ml_meth;
    int ml_flags;
    const char *ml_doc;
} PyMethodDef;

#define METH_VARARGS 0x0001
#define METH_NOARGS 0x0004
#define METH_O 0x0008
#define METH_CLASS 0x0010
#define METH_FASTCALL 0x0080

typedef struct {
    PyObject ob_base;
    PyObject *(*m_init)(void);
    Py_ssize_t m_index;
    PyObject *m_copy;
} PyModuleDef_Base;

typedef struct PyModuleDef {
    PyModuleDef_Base m_base;
    const char *m_name;
    const char *m_doc;
    Py_ssize_t m_size;
    PyMethodDef *m_methods;
    void *m_slots;
    void *m_traverse;
    void *m_clear;
    void *m_free;
} PyModuleDef;

#define PyModuleDef_HEAD_INIT {{1, NULL}, NULL, 0, NULL}

/* The ABI version that every CPython 3 accepts without a warning. */
#define PYTHON_ABI_VERSION 3

/* Builtin functions and methods bound to an object (PyCFunctionObject). */
typedef struct {
    PyObject ob_base;
    PyMethodDef *m_ml;
    PyObject *m_self;
    PyObject *m_module;
} PyCFunctionObject;

/* Method, class-method and slot-wrapper descriptors share a head
 * (PyDescr_COMMON); then the method's definition. */
typedef struct {
    PyObject ob_base;
    PyTypeObject *d_type;
    PyObject *d_name;
    PyObject *d_qualname;
    void *d_def; /* PyMethodDef * or, for slot wrappers, struct wrapperbase * */
} PyDescrObject;

/* A Python function bound to an object (PyMethodObject). */
typedef struct {
    PyObject ob_base;
    PyObject *im_func;
} PyMethodObject;

/* Type flags, at a place fixed since Python 3.0 (tp_flags follows 21
 * pointer-sized fields). */
#define PYPROF_TP_FLAGS_OFFSET (21 * sizeof(void *))
#define Py_TPFLAGS_TUPLE_SUBCLASS (1UL << 26)
#define Py_TPFLAGS_UNICODE_SUBCLASS (1UL << 28)
#define Py_TPFLAGS_TYPE_SUBCLASS (1UL << 31)
#define PyType_FastFlags(tp) (*(const unsigned long *)((const char *)(tp) + PYPROF_TP_FLAGS_OFFSET))
#define PyType_HasFlag(o, f) ((PyType_FastFlags(Py_TYPE(o)) & (f)) != 0)
#define PyUnicode_Check(o) PyType_HasFlag(o, Py_TPFLAGS_UNICODE_SUBCLASS)
#define PyTuple_Check(o) PyType_HasFlag(o, Py_TPFLAGS_TUPLE_SUBCLASS)
#define PyType_Check(o) PyType_HasFlag(o, Py_TPFLAGS_TYPE_SUBCLASS)

/* Ints since 3.12: a tag word (sign in its low two bits, digit count from
 * bit 3), then 30-bit digits. Small ones are "compact": one digit or none. */
typedef struct {
    PyObject ob_base;
    uintptr_t lv_tag;
    uint32_t ob_digit[1];
} PyLongObject;

extern PyTypeObject PyCode_Type, PyFunction_Type, PyMethod_Type, PyLong_Type, PyModule_Type;
extern PyTypeObject PyCFunction_Type, PyCMethod_Type, PyMethodDescr_Type, PyClassMethodDescr_Type, PyWrapperDescr_Type;
extern PyTypeObject PyType_Type, PyList_Type, PyUnicode_Type;
extern PyObject *PyExc_OSError, *PyExc_ValueError, *PyExc_RuntimeError, *PyExc_ImportError;

typedef struct _frame PyFrameObject;
typedef struct _ts PyThreadState;
typedef struct _is PyInterpreterState;

/* Reference counts, errors, memory. */
void Py_IncRef(PyObject *);
void Py_DecRef(PyObject *);
PyObject *PyErr_Format(PyObject *, const char *, ...);
PyObject *PyErr_SetFromErrno(PyObject *);
void PyErr_Clear(void);
void PyErr_WriteUnraisable(PyObject *);
void *PyMem_Realloc(void *, size_t);
void *PyMem_Calloc(size_t, size_t);
void PyMem_Free(void *);

/* Objects. */
PyObject *PyObject_GetAttrString(PyObject *, const char *);
PyObject *PyObject_CallMethod(PyObject *, const char *, const char *, ...);
PyObject *PyObject_CallNoArgs(PyObject *);
int PyObject_IsTrue(PyObject *);
int PyType_IsSubtype(PyTypeObject *, PyTypeObject *);
unsigned long PyType_GetFlags(PyTypeObject *);
PyObject *PyType_GetQualName(PyTypeObject *);
PyObject *PyIter_Next(PyObject *);
Py_ssize_t PyTuple_Size(PyObject *);
PyObject *PyTuple_GetItem(PyObject *, Py_ssize_t);
long PyLong_AsLong(PyObject *);
PyObject *PyLong_FromLong(long);
PyObject *PyBool_FromLong(long);
const char *PyUnicode_AsUTF8AndSize(PyObject *, Py_ssize_t *);
const char *PyUnicode_AsUTF8(PyObject *);
PyObject *PyUnicode_AsEncodedString(PyObject *, const char *, const char *);
int PyBytes_AsStringAndSize(PyObject *, char **, Py_ssize_t *);
PyObject *PyUnicode_FromFormat(const char *, ...);
PyObject *PyFrozenSet_New(PyObject *);
int PySet_Contains(PyObject *, PyObject *);
PyObject *PyFunction_GetCode(PyObject *);
PyObject *PyMethod_Function(PyObject *);
PyObject *PyCFunction_GetSelf(PyObject *);
PyObject *PyRun_String(const char *, int, PyObject *, PyObject *);
PyObject *PyDict_New(void);
PyObject *PyEval_GetBuiltins(void);
int PyDict_SetItemString(PyObject *, const char *, PyObject *);
#define Py_eval_input 258

/* Modules and arguments. */
PyObject *PyModule_Create2(PyModuleDef *, int);
int PyModule_AddIntConstant(PyObject *, const char *, long);
int PyArg_ParseTuple(PyObject *, const char *, ...);

/* Code objects' extra slots (PEP 523). */
Py_ssize_t PyUnstable_Eval_RequestCodeExtraIndex(void (*)(void *));
int PyUnstable_Code_SetExtra(PyObject *, Py_ssize_t, void *);
int PyUnstable_Code_GetExtra(PyObject *, Py_ssize_t, void **);

/* Threads, the GIL, frames. */
unsigned long PyThread_get_thread_ident(void);
PyThreadState *PyEval_SaveThread(void);
void PyEval_RestoreThread(PyThreadState *);
int Py_AddPendingCall(int (*)(void *), void *);
PyFrameObject *PyEval_GetFrame(void);
PyInterpreterState *PyInterpreterState_Get(void);
PyObject *PyFrame_GetCode(PyFrameObject *);
PyFrameObject *PyFrame_GetBack(PyFrameObject *);
int PyFrame_GetLasti(PyFrameObject *);
PyObject *PyFrame_GetGlobals(PyFrameObject *);
PyObject *PyDict_GetItemString(PyObject *, const char *);
PyObject *PyMapping_GetItemString(PyObject *, const char *);
PyObject *PyUnicode_FromString(const char *);
void *PyType_GetSlot(PyTypeObject *, int); /* static types too, from 3.10 */
typedef PyObject *(*getattrofunc)(PyObject *, PyObject *);
#define Py_tp_getattro 58
PyThreadState *PyThreadState_GetUnchecked(void) __attribute__((weak));  /* 3.13 on */
PyThreadState *_PyThreadState_UncheckedGet(void) __attribute__((weak)); /* 3.12 */
extern const unsigned long Py_Version;

#define Py_BEGIN_ALLOW_THREADS { PyThreadState *_save = PyEval_SaveThread();
#define Py_END_ALLOW_THREADS PyEval_RestoreThread(_save); }

#endif
