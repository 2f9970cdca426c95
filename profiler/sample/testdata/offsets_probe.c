/* Prints the offsets pyprof's sampler uses, computed by the compiler from
 * the interpreter's own internal headers. offsets_test.go compiles it with
 * gcc against each installed CPython and compares with the layout the
 * sampler uses for that version (the built-in 3.12 table, or the 3.13+ debug
 * offsets plus what is derived from them). One "name value" per line; names
 * are the fields of the Go struct layout. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_dict.h"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_interpframe.h"
#endif

#define P(name, expr) printf("%s %zu\n", name, (size_t)(expr))

/* 3.14 made f_executable a tagged _PyStackRef and replaced the int
 * stacktop with a stack pointer; FRAME_OWNED_BY_CSTACK (3) was renamed
 * FRAME_OWNED_BY_INTERPRETER, and a new FRAME_OWNED_BY_CSTACK is 4. */
#if PY_VERSION_HEX >= 0x030E0000
#define EXEC_TAG_BITS Py_TAG_BITS
#define FR_STACKTOP stackpointer
#define STACK_POINTER 1
#define OWNED_BY_ENTRY FRAME_OWNED_BY_INTERPRETER
#else
#define EXEC_TAG_BITS 0
#define FR_STACKTOP stacktop
#define STACK_POINTER 0
#define OWNED_BY_ENTRY FRAME_OWNED_BY_CSTACK
#endif

#if PY_VERSION_HEX >= 0x030D0000
#define TS_FRAME current_frame
#define FR_CODE f_executable
#define FR_INSTR instr_ptr
#define CFRAME 0
#else
#define TS_FRAME cframe
#define FR_CODE f_code
#define FR_INSTR prev_instr
#define CFRAME 1
#endif

/* state_bits returns the bits of PyASCIIObject.state that a field uses. */
#define STATE_BITS(field, value) do { \
        PyASCIIObject o; uint32_t bits; \
        memset(&o, 0, sizeof o); o.state.field = value; \
        memcpy(&bits, (char *)&o + offsetof(PyASCIIObject, state), 4); \
        P("state." #field, bits); \
    } while (0)

int main(void)
{
    P("runtimeInterpHead", offsetof(_PyRuntimeState, interpreters.head));
    P("interpNext", offsetof(PyInterpreterState, next));
    P("interpThreads", offsetof(PyInterpreterState, threads.head));
    P("interpGIL", offsetof(PyInterpreterState, ceval.gil));
    P("gilHolder", offsetof(struct _gil_runtime_state, last_holder));
    P("gilLocked", offsetof(struct _gil_runtime_state, locked));
    P("tsNext", offsetof(PyThreadState, next));
    P("tsInterp", offsetof(PyThreadState, interp));
    P("tsNativeID", offsetof(PyThreadState, native_thread_id));
    P("tsFrame", offsetof(PyThreadState, TS_FRAME));
    P("tsChunk", offsetof(PyThreadState, datastack_chunk));
    P("tsTop", offsetof(PyThreadState, datastack_top));
    P("cframe", CFRAME);
    P("frCode", offsetof(_PyInterpreterFrame, FR_CODE));
    P("execTagBits", EXEC_TAG_BITS);
    P("frPrevious", offsetof(_PyInterpreterFrame, previous));
    P("frInstr", offsetof(_PyInterpreterFrame, FR_INSTR));
    P("frStackTop", offsetof(_PyInterpreterFrame, FR_STACKTOP));
    P("stackPointer", STACK_POINTER);
    P("frOwner", offsetof(_PyInterpreterFrame, owner));
    P("maxOwner", FRAME_OWNED_BY_CSTACK);
    P("frFuncobj", offsetof(_PyInterpreterFrame, f_funcobj));
    P("funcCode", offsetof(PyFunctionObject, func_code));
    P("frGlobals", offsetof(_PyInterpreterFrame, f_globals));
    P("funcModule", offsetof(PyFunctionObject, func_module));
    P("obType", offsetof(PyObject, ob_type));
    P("varSize", offsetof(PyVarObject, ob_size));
    P("coFirstLine", offsetof(PyCodeObject, co_firstlineno));
    P("coFilename", offsetof(PyCodeObject, co_filename));
    P("coQualname", offsetof(PyCodeObject, co_qualname));
    P("coLinetable", offsetof(PyCodeObject, co_linetable));
    P("coFirstTraceable", offsetof(PyCodeObject, _co_firsttraceable));
    P("coCode", offsetof(PyCodeObject, co_code_adaptive));
    P("bytesSize", offsetof(PyBytesObject, ob_base.ob_size));
    P("bytesData", offsetof(PyBytesObject, ob_sval));
    P("strLength", offsetof(PyASCIIObject, length));
    P("strState", offsetof(PyASCIIObject, state));
    P("strASCIIData", sizeof(PyASCIIObject));
    P("strCompactData", sizeof(PyCompactUnicodeObject));
    P("strDataPtr", offsetof(PyUnicodeObject, data));

    P("chunk.previous", offsetof(_PyStackChunk, previous));
    P("chunk.size", offsetof(_PyStackChunk, size));
    P("chunk.top", offsetof(_PyStackChunk, top));
    P("chunk.data", offsetof(_PyStackChunk, data));
    P("owner.thread", FRAME_OWNED_BY_THREAD);
    P("owner.generator", FRAME_OWNED_BY_GENERATOR);
    P("owner.frame_object", FRAME_OWNED_BY_FRAME_OBJECT);
    P("owner.cstack", OWNED_BY_ENTRY);
    P("str.hash", offsetof(PyASCIIObject, hash));
    P("dict.used", offsetof(PyDictObject, ma_used) - sizeof(PyObject));
    P("dict.keys", offsetof(PyDictObject, ma_keys) - sizeof(PyObject));
    P("dict.values", offsetof(PyDictObject, ma_values) - sizeof(PyObject));
    P("keys.log2_size", offsetof(PyDictKeysObject, dk_log2_size));
    P("keys.log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
    P("keys.kind", offsetof(PyDictKeysObject, dk_kind));
    P("keys.nentries", offsetof(PyDictKeysObject, dk_nentries));
    P("keys.indices", offsetof(PyDictKeysObject, dk_indices));
    P("keys.general", DICT_KEYS_GENERAL);
    P("keys.unicode", DICT_KEYS_UNICODE);
    P("entry.size", sizeof(PyDictKeyEntry));
    P("entry.unicode_size", sizeof(PyDictUnicodeEntry));
    STATE_BITS(kind, 7);
    STATE_BITS(compact, 1);
    STATE_BITS(ascii, 1);
#if PY_VERSION_HEX >= 0x030D0000
    P("debugOffsetsSize", sizeof(_Py_DebugOffsets));
#endif
    return 0;
}
