/*
 * abi_probe.c prints the sizes, offsets and constants that pyabi.h declares,
 * built either against pyabi.h or, with -DWITH_PYTHON_H, against an
 * interpreter's own Python.h. TestABIMatchesHeaders compares the outputs,
 * so that every declaration the agent relies on is checked against the
 * headers of each CPython that has them here.
 */
#include <stddef.h>
#include <stdio.h>

#ifdef WITH_PYTHON_H
#include <Python.h>
#define DESCR_DEF offsetof(PyMethodDescrObject, d_method)
#define WRAPPER_DEF offsetof(PyWrapperDescrObject, d_base)
#define LONG_TAG offsetof(PyLongObject, long_value.lv_tag)
#define LONG_DIGIT offsetof(PyLongObject, long_value.ob_digit)
#define LONG_DIGIT_SIZE sizeof(digit)
#define TP_FLAGS offsetof(PyTypeObject, tp_flags)
#else
#include "../c/pyabi.h"
#define DESCR_DEF offsetof(PyDescrObject, d_def)
#define WRAPPER_DEF offsetof(PyDescrObject, d_def)
#define LONG_TAG offsetof(PyLongObject, lv_tag)
#define LONG_DIGIT offsetof(PyLongObject, ob_digit)
#define LONG_DIGIT_SIZE sizeof(((PyLongObject *)0)->ob_digit[0])
#define TP_FLAGS PYPROF_TP_FLAGS_OFFSET
#endif

#define P(expr) printf("%s %lu\n", #expr, (unsigned long)(expr))

int main(void)
{
    P(sizeof(PyObject));
    P(offsetof(PyObject, ob_type));
    P(offsetof(PyVarObject, ob_size));
    P(sizeof(PyMethodDef));
    P(offsetof(PyMethodDef, ml_meth));
    P(offsetof(PyMethodDef, ml_flags));
    P(offsetof(PyMethodDef, ml_doc));
    P(sizeof(PyModuleDef_Base));
    P(sizeof(PyModuleDef));
    P(offsetof(PyModuleDef, m_name));
    P(offsetof(PyModuleDef, m_size));
    P(offsetof(PyModuleDef, m_methods));
    P(offsetof(PyModuleDef, m_free));
    P(offsetof(PyCFunctionObject, m_ml));
    P(offsetof(PyCFunctionObject, m_self));
    P(offsetof(PyCFunctionObject, m_module));
    P(offsetof(PyDescrObject, d_type));
    P(offsetof(PyDescrObject, d_name));
    P(offsetof(PyDescrObject, d_qualname));
    P(DESCR_DEF);
    P(WRAPPER_DEF);
    P(offsetof(PyMethodObject, im_func));
    P(LONG_TAG);
    P(LONG_DIGIT);
    P(LONG_DIGIT_SIZE);
    P(TP_FLAGS);
    P(METH_VARARGS);
    P(METH_NOARGS);
    P(METH_O);
    P(METH_FASTCALL);
    P(Py_TPFLAGS_TUPLE_SUBCLASS);
    P(Py_TPFLAGS_UNICODE_SUBCLASS);
    P(Py_TPFLAGS_TYPE_SUBCLASS);
    P(Py_eval_input);
    return 0;
}
