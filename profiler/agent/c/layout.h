/*
 * layout.h: where this interpreter keeps the few internal fields the agent
 * reads on its hot paths, found when the agent loads (layout.c).
 */
#ifndef PYPROF_LAYOUT_H
#define PYPROF_LAYOUT_H

#include "pyabi.h"

/* A code object's extra slots (PEP 523): a count, then the slots. The
 * agent reads them inline instead of calling PyUnstable_Code_GetExtra on
 * every event; CPython has kept this shape since 3.6. */
typedef struct {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} code_extra;

typedef struct {
    size_t co_extra;  /* a code object's co_extra pointer */
    size_t co_code;   /* its first code unit (co_code_adaptive) */
    size_t func_code; /* a function object's code */
    /* Frame fields, for call sites read from frames; frames is 0 where
     * they are not known, and frame sites stay off. */
    int frames;
    int via_cframe;   /* 3.12: the thread state points to a _PyCFrame whose first field is the frame */
    size_t ts_frame;  /* the thread state's current frame (or cframe) */
    size_t fr_code, fr_previous, fr_instr, fr_owner;
    /* The GIL in use (the interpreter state's ceval.gil, a pointer) and
     * its last holder; gil is 0 where they are not known. */
    int gil;
    size_t interp_gil, gil_holder;
} py_layout;

extern py_layout pyprof_layout;

/* Frames whose owner is at least this are the interpreter's or C's own
 * (entry frames, shims), not a Python function's, in 3.12 to 3.15. */
#define PYPROF_FRAME_OWNED_BY_INTERPRETER 3

/* check_layout finds the fields above and checks every declaration of
 * pyabi.h that the agent relies on against the public API. It returns
 * NULL, or why the agent cannot run in this interpreter. */
const char *check_layout(Py_ssize_t extra_index);

#endif
