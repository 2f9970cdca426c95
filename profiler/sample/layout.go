package sample

import "fmt"

// Version is a CPython version as PY_VERSION_HEX encodes it.
type Version struct {
	Major, Minor, Micro int
	// Hex is PY_VERSION_HEX (0x030c01f0 for 3.12.1 final).
	Hex uint32
}

func versionFromHex(h uint32) Version {
	return Version{Major: int(h >> 24), Minor: int(h >> 16 & 0xff), Micro: int(h >> 8 & 0xff), Hex: h}
}

// String formats v as "3.12.1", or "3.11" when only the minor version is
// known (read from a file name).
func (v Version) String() string {
	if v.Hex == 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
}

// atLeast reports whether v is major.minor or newer.
func (v Version) atLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// layout holds every offset the walker uses, whatever its source: the
// built-in 3.12 table or the _Py_DebugOffsets that 3.13+ carries at the start
// of _PyRuntime. All offsets are in bytes from the start of the struct; the
// few other fields say how to read what is there.
type layout struct {
	// _PyRuntimeState
	runtimeInterpHead uint64

	// PyInterpreterState
	interpNext    uint64
	interpThreads uint64 // threads.head
	interpGIL     uint64 // ceval.gil: pointer to the _gil_runtime_state in use

	// struct _gil_runtime_state
	gilHolder uint64 // last_holder: PyThreadState*
	gilLocked uint64 // locked: int

	// PyThreadState
	tsNext     uint64
	tsInterp   uint64
	tsNativeID uint64
	tsFrame    uint64 // current_frame (3.13) or cframe (3.12, see cframe)
	tsChunk    uint64 // datastack_chunk
	tsTop      uint64 // datastack_top
	// cframe is set on 3.12, where tsFrame points at a _PyCFrame whose
	// first field is the current frame (cpython/pystate.h 3.12).
	cframe bool

	// _PyInterpreterFrame
	frCode uint64 // f_code (3.12) or f_executable (3.13+)
	// execTagBits are the tag bits of f_executable, a _PyStackRef from
	// 3.14 on, cleared to get the code object's address.
	execTagBits uint64
	frPrevious  uint64
	frInstr     uint64 // prev_instr (3.12) or instr_ptr (3.13+)
	// frStackTop is stacktop, an int that is -1 while the frame runs
	// (3.12, 3.13), or stackpointer (3.14+; stackPointer set), a pointer
	// that only debug builds clear while the frame runs.
	frStackTop   uint64
	stackPointer bool
	frOwner      uint64
	maxOwner     uint64 // the highest value of enum _frameowner
	// frFuncobj is f_funcobj, the function object the frame runs (a
	// _PyStackRef from 3.14 on, tagged as f_executable is); 0 where it is
	// not known to be there, and modules are then left unknown.
	frFuncobj uint64
	// frGlobals is f_globals, the globals the frame's code runs with,
	// whose __name__ names its module; 0 where it is not known to be
	// there, and the module is then read from the function.
	frGlobals uint64

	// PyFunctionObject (cpython/funcobject.h): func_code, to check that a
	// frame's function is the one running its code; and func_module, the
	// __name__ of its globals when the function was made, which
	// functools.wraps and others rewrite, read only when the frame's
	// globals cannot be.
	funcCode   uint64
	funcModule uint64

	// PyObject, PyVarObject (ob_size of a code object counts its code
	// units), PyCodeObject
	obType           uint64
	varSize          uint64
	coFirstLine      uint64
	coFilename       uint64
	coQualname       uint64
	coLinetable      uint64
	coFirstTraceable uint64
	coCode           uint64 // co_code_adaptive: the first code unit

	// PyBytesObject
	bytesSize uint64
	bytesData uint64

	// PyASCIIObject, PyCompactUnicodeObject, PyUnicodeObject
	strLength      uint64
	strState       uint64
	strASCIIData   uint64 // sizeof(PyASCIIObject): compact ASCII data
	strCompactData uint64 // sizeof(PyCompactUnicodeObject): compact data
	strDataPtr     uint64 // PyUnicodeObject.data.any of legacy strings
}

// stack chunk layout (_PyStackChunk in cpython/pystate.h, unchanged in
// 3.12 and 3.13): previous, size (bytes, header included), top (words used
// when the chunk is not the current one), then data.
const (
	chunkPrevious = 0
	chunkSize     = 8
	chunkTop      = 16
	chunkData     = 24
)

// frame owners (enum _frameowner in pycore_frame.h, 3.12 and 3.13). Frames
// owned by ownedByCStack or above are no Python code: the entry frames of
// _PyEval_EvalFrameDefault, which live on the C stack. 3.14 calls that
// value FRAME_OWNED_BY_INTERPRETER and adds FRAME_OWNED_BY_CSTACK, 4, which
// it never sets (pycore_interpframe_structs.h).
const (
	ownedByThread      = 0
	ownedByGenerator   = 1
	ownedByFrameObject = 2
	ownedByCStack      = 3
	ownedByCStack314   = 4
)

// stackRefTagBits are the low bits of a _PyStackRef that tag it rather
// than address the object (Py_TAG_BITS in pycore_stackref.h, 3.14): a
// reference to an immortal object has bit 0 set, as the f_executable of
// the shim frame under an __init__ called by a specialised CALL has; both
// bits set mark small ints, never a frame's code.
const stackRefTagBits = 3

// unicode state bits (PyASCIIObject.state in cpython/unicodeobject.h,
// 3.12 to 3.14): interned:2, kind:3, compact:1, ascii:1. A free-threaded
// 3.14 keeps interned in a whole byte, which moves the others; it is not
// read (readLayout314).
const (
	stateKindShift = 2
	stateKindMask  = 7
	stateCompact   = 1 << 5
	stateASCII     = 1 << 6
)

// layout312 is CPython 3.12's layout on 64-bit Linux, which has no debug
// offsets. Measured on 3.12.1 and checked against the installed
// internal headers by TestLayout312MatchesHeaders; internal structs keep
// their layout within a minor release.
var layout312 = layout{
	runtimeInterpHead: 40,
	interpNext:        0,
	interpThreads:     72,
	interpGIL:         384,
	gilHolder:         8,
	gilLocked:         16,
	tsNext:            8,
	tsInterp:          16,
	tsNativeID:        144,
	tsFrame:           56,
	tsChunk:           232,
	tsTop:             240,
	cframe:            true,
	frCode:            0,
	frPrevious:        8,
	frInstr:           56,
	frStackTop:        64,
	frOwner:           70,
	maxOwner:          ownedByCStack,
	frFuncobj:         16,
	frGlobals:         24,
	funcCode:          funcCodeOffset,
	funcModule:        funcModuleOffset,
	obType:            8,
	varSize:           16,
	coFirstLine:       68,
	coFilename:        112,
	coQualname:        128,
	coLinetable:       136,
	coFirstTraceable:  176,
	coCode:            192,
	bytesSize:         16,
	bytesData:         32,
	strLength:         16,
	strState:          32,
	strASCIIData:      40,
	strCompactData:    56,
	strDataPtr:        56,
}

// The fields of PyFunctionObject that the sampler reads sit at the same
// offsets in 3.12, 3.13 and 3.14 (cpython/funcobject.h of each: the object
// header, eight common fields from func_globals to func_closure, then
// func_doc, func_dict, func_weakreflist and func_module; 3.14 adds
// func_annotate after func_module). TestLayoutMatchesHeaders checks them
// against the installed headers, TestFunctionOffsetsLive against a running
// interpreter.
const (
	funcCodeOffset   = 48
	funcModuleOffset = 104
)

// globalsAfter derives the offset of f_globals from that of f_funcobj,
// which it follows in 3.12, 3.13 and 3.14 (a pointer, not a _PyStackRef).
func globalsAfter(funcobj uint64) uint64 {
	if funcobj == 0 {
		return 0
	}
	return funcobj + 8
}

// funcobjAfter derives the offset of f_funcobj from the debug offsets of
// 3.13+, which do not carry it: it follows f_executable (0) and previous
// (8) in 3.12, 3.13 and 3.14 (pycore_frame.h, pycore_interpframe_structs.h).
// A layout that does not start that way gets 0: modules unknown.
func funcobjAfter(executable, previous uint64) uint64 {
	if executable == 0 && previous == 8 {
		return 16
	}
	return 0
}

// frameHeaderSize is how much of a frame the walker reads: up to and
// including owner.
func (l *layout) frameHeaderSize() uint64 {
	return max(l.frCode+8, l.frPrevious+8, l.frInstr+8, l.frStackTop+l.stackTopSize(), l.frOwner+1, l.frFuncobj+8, l.frGlobals+8)
}

// stackTopSize is the size of the frame's stacktop or stackpointer field.
func (l *layout) stackTopSize() uint64 {
	if l.stackPointer {
		return 8
	}
	return 4
}

// stackTop reads a frame's stacktop, sign-extended, or its stack pointer,
// from its header fh.
func (l *layout) stackTop(fh []byte) int64 {
	if l.stackPointer {
		return int64(u64(fh, l.frStackTop))
	}
	return int64(int32(u32(fh, l.frStackTop)))
}

// running reports whether a frame's stackTop says that it runs: stacktop
// -1, or a stack pointer cleared (3.14+, debug builds only; a release
// build leaves the last one saved).
func (l *layout) running(stackTop int64) bool {
	if l.stackPointer {
		return stackTop == 0
	}
	return stackTop < 0
}

// threadStateSize is how much of a PyThreadState the walker reads.
func (l *layout) threadStateSize() uint64 {
	return max(l.tsNext, l.tsInterp, l.tsNativeID, l.tsFrame, l.tsChunk, l.tsTop) + 8
}

// interpSize is how much of a PyInterpreterState the walker reads.
func (l *layout) interpSize() uint64 {
	return max(l.interpNext, l.interpThreads, l.interpGIL) + 8
}

// codeHeaderSize is how much of a code object is read to find, and to
// validate, a cached decoding.
func (l *layout) codeHeaderSize() uint64 {
	return max(l.obType+8, l.varSize+8, l.coFilename+8, l.coQualname+8, l.coLinetable+8,
		l.coFirstLine+4, l.coFirstTraceable+4)
}
