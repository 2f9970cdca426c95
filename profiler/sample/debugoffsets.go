package sample

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// debugCookie starts _Py_DebugOffsets, itself the first field of
// _PyRuntime from 3.13 on (Include/internal/pycore_runtime.h).
const debugCookie = "xdebugpy"

// debugOffsets313 mirrors _Py_DebugOffsets of CPython 3.13 field for field
// (every field a uint64). The struct is only stable within a minor release,
// so 3.14 has its own mirror; TestLayoutMatchesHeaders checks this one
// against the installed 3.13 headers.
type debugOffsets313 struct {
	Cookie       [8]byte
	Version      uint64
	FreeThreaded uint64
	Runtime      struct{ Size, Finalizing, InterpretersHead uint64 }
	Interp       struct {
		Size, ID, Next, ThreadsHead, GC, ImportsModules, Sysdict, Builtins, CevalGIL uint64
		GILRuntimeState, GILRuntimeStateEnabled, GILRuntimeStateLocked, GILHolder    uint64
	}
	Thread struct {
		Size, Prev, Next, Interp, CurrentFrame, ThreadID, NativeThreadID, DatastackChunk, Status uint64
	}
	Frame struct{ Size, Previous, Executable, InstrPtr, Localsplus, Owner uint64 }
	Code  struct {
		Size, Filename, Name, Qualname, Linetable, FirstLineno, Argcount uint64
		LocalsplusNames, LocalsplusKinds, CodeAdaptive                   uint64
	}
	Object  struct{ Size, ObType uint64 }
	Type    struct{ Size, TpName, TpRepr, TpFlags uint64 }
	Tuple   struct{ Size, ObItem, ObSize uint64 }
	List    struct{ Size, ObItem, ObSize uint64 }
	Dict    struct{ Size, MaKeys, MaValues uint64 }
	Float   struct{ Size, ObFval uint64 }
	Long    struct{ Size, LvTag, ObDigit uint64 }
	Bytes   struct{ Size, ObSize, ObSval uint64 }
	Unicode struct{ Size, State, Length, ASCIIObjectSize uint64 }
	GC      struct{ Size, Collecting uint64 }
}

// debugOffsets314 mirrors _Py_DebugOffsets of CPython 3.14 field for field.
// It grew: the interpreter section gained threads_main,
// code_object_generation and tlbc_generation; the frame its stack pointer
// and the index of its thread's copy of the bytecode (free-threaded builds
// only, 0 otherwise); the code object the array of those copies; and set,
// generator, list-node and remote-debugger sections were added. 3.14
// installs no internal headers here: TestDebugOffsets314 checks this
// mirror against a live 3.14 and what the walker reads through it against
// what that process says of itself.
type debugOffsets314 struct {
	Cookie       [8]byte
	Version      uint64
	FreeThreaded uint64
	Runtime      struct{ Size, Finalizing, InterpretersHead uint64 }
	Interp       struct {
		Size, ID, Next, ThreadsHead, ThreadsMain, GC, ImportsModules, Sysdict, Builtins, CevalGIL uint64
		GILRuntimeState, GILRuntimeStateEnabled, GILRuntimeStateLocked, GILHolder                 uint64
		CodeObjectGeneration, TLBCGeneration                                                      uint64
	}
	Thread struct {
		Size, Prev, Next, Interp, CurrentFrame, ThreadID, NativeThreadID, DatastackChunk, Status uint64
	}
	Frame struct {
		Size, Previous, Executable, InstrPtr, Localsplus, Owner, StackPointer, TLBCIndex uint64
	}
	Code struct {
		Size, Filename, Name, Qualname, Linetable, FirstLineno, Argcount uint64
		LocalsplusNames, LocalsplusKinds, CodeAdaptive, TLBC             uint64
	}
	Object    struct{ Size, ObType uint64 }
	Type      struct{ Size, TpName, TpRepr, TpFlags uint64 }
	Tuple     struct{ Size, ObItem, ObSize uint64 }
	List      struct{ Size, ObItem, ObSize uint64 }
	Set       struct{ Size, Used, Table, Mask uint64 }
	Dict      struct{ Size, MaKeys, MaValues uint64 }
	Float     struct{ Size, ObFval uint64 }
	Long      struct{ Size, LvTag, ObDigit uint64 }
	Bytes     struct{ Size, ObSize, ObSval uint64 }
	Unicode   struct{ Size, State, Length, ASCIIObjectSize uint64 }
	GC        struct{ Size, Collecting uint64 }
	Gen       struct{ Size, GiName, GiIframe, GiFrameState uint64 }
	LListNode struct{ Next, Prev uint64 }
	Debugger  struct {
		EvalBreaker, RemoteDebuggerSupport, RemoteDebuggingEnabled      uint64
		DebuggerPendingCall, DebuggerScriptPath, DebuggerScriptPathSize uint64
	}
}

// Sizes of the mirrors: how much of _PyRuntime each reads.
var (
	debugOffsets313Size = binary.Size(debugOffsets313{})
	debugOffsets314Size = binary.Size(debugOffsets314{})
)

// decodeDebugOffsets decodes raw, the first bytes of _PyRuntime, into d, a
// pointer to one of the mirrors.
func decodeDebugOffsets(raw []byte, d any) error {
	size := binary.Size(d)
	if len(raw) < size {
		return fmt.Errorf("debug offsets: %d bytes, want %d", len(raw), size)
	}
	if cookie := raw[:len(debugCookie)]; string(cookie) != debugCookie {
		if bytes.Count(cookie, []byte{0}) == len(cookie) {
			return fmt.Errorf("debug offsets: cookie %q, want %q: %w", cookie, debugCookie, errNotLoadedYet)
		}
		return fmt.Errorf("debug offsets: cookie %q, want %q", cookie, debugCookie)
	}
	if err := binary.Read(bytes.NewReader(raw[:size]), endian, d); err != nil {
		return fmt.Errorf("debug offsets: %w", err)
	}
	return nil
}

// parseDebugOffsets313 decodes raw, the first bytes of a 3.13 _PyRuntime.
func parseDebugOffsets313(raw []byte) (*debugOffsets313, error) {
	var d debugOffsets313
	return &d, decodeDebugOffsets(raw, &d)
}

// parseDebugOffsets314 decodes raw, the first bytes of a 3.14 _PyRuntime.
func parseDebugOffsets314(raw []byte) (*debugOffsets314, error) {
	var d debugOffsets314
	return &d, decodeDebugOffsets(raw, &d)
}

// layout turns the debug offsets into the walker's layout. A few offsets
// are not in the 3.13 table and are derived from the 3.13 headers; each is
// checked by TestLayoutMatchesHeaders:
//   - _gil_runtime_state's last_holder and locked, relative to _gil;
//   - datastack_top, the field after datastack_chunk;
//   - a frame's stacktop, the int after instr_ptr;
//   - _co_firsttraceable, an int followed by the co_extra pointer just
//     before co_code_adaptive;
//   - ob_size of a code object, at the PyVarObject offset tuples use;
//   - sizeof(PyCompactUnicodeObject): PyASCIIObject plus utf8_length and utf8.
func (d *debugOffsets313) layout() layout {
	gilBase := d.Interp.GILRuntimeState
	return layout{
		runtimeInterpHead: d.Runtime.InterpretersHead,
		interpNext:        d.Interp.Next,
		interpThreads:     d.Interp.ThreadsHead,
		interpGIL:         d.Interp.CevalGIL,
		gilHolder:         d.Interp.GILHolder - gilBase,
		gilLocked:         d.Interp.GILRuntimeStateLocked - gilBase,
		tsNext:            d.Thread.Next,
		tsInterp:          d.Thread.Interp,
		tsNativeID:        d.Thread.NativeThreadID,
		tsFrame:           d.Thread.CurrentFrame,
		tsChunk:           d.Thread.DatastackChunk,
		tsTop:             d.Thread.DatastackChunk + 8,
		frCode:            d.Frame.Executable,
		frPrevious:        d.Frame.Previous,
		frInstr:           d.Frame.InstrPtr,
		frStackTop:        d.Frame.InstrPtr + 8,
		frOwner:           d.Frame.Owner,
		maxOwner:          ownedByCStack,
		frFuncobj:         funcobjAfter(d.Frame.Executable, d.Frame.Previous),
		frGlobals:         globalsAfter(funcobjAfter(d.Frame.Executable, d.Frame.Previous)),
		funcCode:          funcCodeOffset,
		funcModule:        funcModuleOffset,
		obType:            d.Object.ObType,
		varSize:           d.Tuple.ObSize,
		coFirstLine:       d.Code.FirstLineno,
		coFilename:        d.Code.Filename,
		coQualname:        d.Code.Qualname,
		coLinetable:       d.Code.Linetable,
		coFirstTraceable:  d.Code.CodeAdaptive - 16,
		coCode:            d.Code.CodeAdaptive,
		bytesSize:         d.Bytes.ObSize,
		bytesData:         d.Bytes.ObSval,
		strLength:         d.Unicode.Length,
		strState:          d.Unicode.State,
		strASCIIData:      d.Unicode.ASCIIObjectSize,
		strCompactData:    d.Unicode.ASCIIObjectSize + 16,
		strDataPtr:        d.Unicode.ASCIIObjectSize + 16,
	}
}

// layout turns the 3.14 debug offsets into the walker's layout. What 3.14
// changed for the walker:
//   - f_executable is a _PyStackRef, whose two low bits are tags
//     (Py_TAG_BITS in pycore_stackref.h): execTagBits clears them;
//   - the frame keeps a stack pointer where 3.13 kept an int stacktop, and
//     nothing in it says that the frame runs (only debug builds clear it);
//   - the entry frame of the C stack is owned by FRAME_OWNED_BY_INTERPRETER,
//     3 like 3.13's FRAME_OWNED_BY_CSTACK, which moved to 4 and is never
//     set;
//   - the debug offsets carry the stack pointer now, not derived any more.
//
// The rest is derived as for 3.13 (see above), from the 3.14 headers:
// datastack_top still follows datastack_chunk, _co_firsttraceable and
// co_extra still end the code object of a default build, and the unicode
// structs did not change; TestDebugOffsets314 checks the walk they give.
func (d *debugOffsets314) layout() layout {
	gilBase := d.Interp.GILRuntimeState
	return layout{
		runtimeInterpHead: d.Runtime.InterpretersHead,
		interpNext:        d.Interp.Next,
		interpThreads:     d.Interp.ThreadsHead,
		interpGIL:         d.Interp.CevalGIL,
		gilHolder:         d.Interp.GILHolder - gilBase,
		gilLocked:         d.Interp.GILRuntimeStateLocked - gilBase,
		tsNext:            d.Thread.Next,
		tsInterp:          d.Thread.Interp,
		tsNativeID:        d.Thread.NativeThreadID,
		tsFrame:           d.Thread.CurrentFrame,
		tsChunk:           d.Thread.DatastackChunk,
		tsTop:             d.Thread.DatastackChunk + 8,
		frCode:            d.Frame.Executable,
		execTagBits:       stackRefTagBits,
		frPrevious:        d.Frame.Previous,
		frInstr:           d.Frame.InstrPtr,
		frStackTop:        d.Frame.StackPointer,
		stackPointer:      true,
		frOwner:           d.Frame.Owner,
		maxOwner:          ownedByCStack314,
		frFuncobj:         funcobjAfter(d.Frame.Executable, d.Frame.Previous),
		frGlobals:         globalsAfter(funcobjAfter(d.Frame.Executable, d.Frame.Previous)),
		funcCode:          funcCodeOffset,
		funcModule:        funcModuleOffset,
		obType:            d.Object.ObType,
		varSize:           d.Tuple.ObSize,
		coFirstLine:       d.Code.FirstLineno,
		coFilename:        d.Code.Filename,
		coQualname:        d.Code.Qualname,
		coLinetable:       d.Code.Linetable,
		coFirstTraceable:  d.Code.CodeAdaptive - 16,
		coCode:            d.Code.CodeAdaptive,
		bytesSize:         d.Bytes.ObSize,
		bytesData:         d.Bytes.ObSval,
		strLength:         d.Unicode.Length,
		strState:          d.Unicode.State,
		strASCIIData:      d.Unicode.ASCIIObjectSize,
		strCompactData:    d.Unicode.ASCIIObjectSize + 16,
		strDataPtr:        d.Unicode.ASCIIObjectSize + 16,
	}
}

// check reports the first reason the offsets cannot be laid out as 3.14
// lays them out, nil if none. A later version whose table reads right
// through the 3.14 mirror passes; one that added or moved fields before
// the end almost surely shifts some section onto its neighbour's values,
// and an offset then lies past its own struct's size, or a struct whose
// layout is fixed by C (PyObject, the heads of tuple, bytes and str)
// reads wrong.
func (d *debugOffsets314) check() error {
	type section struct {
		name string
		size uint64
		offs []uint64
	}
	sections := []section{
		{"runtime_state", d.Runtime.Size, []uint64{d.Runtime.Finalizing, d.Runtime.InterpretersHead}},
		{"interpreter_state", d.Interp.Size, []uint64{d.Interp.ID, d.Interp.Next, d.Interp.ThreadsHead,
			d.Interp.ThreadsMain, d.Interp.GC, d.Interp.ImportsModules, d.Interp.Sysdict, d.Interp.Builtins,
			d.Interp.CevalGIL, d.Interp.GILRuntimeState, d.Interp.GILRuntimeStateLocked, d.Interp.GILHolder,
			d.Interp.CodeObjectGeneration}},
		{"thread_state", d.Thread.Size, []uint64{d.Thread.Prev, d.Thread.Next, d.Thread.Interp,
			d.Thread.CurrentFrame, d.Thread.ThreadID, d.Thread.NativeThreadID, d.Thread.DatastackChunk + 8,
			d.Thread.Status}},
		{"interpreter_frame", d.Frame.Size, []uint64{d.Frame.Previous, d.Frame.Executable, d.Frame.InstrPtr,
			d.Frame.Localsplus, d.Frame.Owner, d.Frame.StackPointer}},
		{"code_object", d.Code.Size, []uint64{d.Code.Filename, d.Code.Name, d.Code.Qualname, d.Code.Linetable,
			d.Code.FirstLineno, d.Code.Argcount, d.Code.LocalsplusNames, d.Code.LocalsplusKinds,
			d.Code.CodeAdaptive}},
		{"type_object", d.Type.Size, []uint64{d.Type.TpName, d.Type.TpRepr, d.Type.TpFlags}},
		{"tuple_object", d.Tuple.Size, []uint64{d.Tuple.ObItem, d.Tuple.ObSize}},
		{"list_object", d.List.Size, []uint64{d.List.ObItem, d.List.ObSize}},
		{"set_object", d.Set.Size, []uint64{d.Set.Used, d.Set.Table, d.Set.Mask}},
		{"dict_object", d.Dict.Size, []uint64{d.Dict.MaKeys, d.Dict.MaValues}},
		{"float_object", d.Float.Size, []uint64{d.Float.ObFval}},
		{"long_object", d.Long.Size, []uint64{d.Long.LvTag, d.Long.ObDigit}},
		{"bytes_object", d.Bytes.Size, []uint64{d.Bytes.ObSize, d.Bytes.ObSval}},
		{"unicode_object", d.Unicode.Size, []uint64{d.Unicode.State, d.Unicode.Length, d.Unicode.ASCIIObjectSize}},
		{"gc", d.GC.Size, []uint64{d.GC.Collecting}},
		{"gen_object", d.Gen.Size, []uint64{d.Gen.GiName, d.Gen.GiIframe, d.Gen.GiFrameState}},
	}
	for _, s := range sections {
		for _, off := range s.offs {
			if off >= s.size {
				return fmt.Errorf("%s has an offset of %d in a struct of %d bytes", s.name, off, s.size)
			}
		}
	}
	// PyObject_HEAD and PyObject_VAR_HEAD of a 64-bit build with the GIL.
	fixed := []struct {
		name      string
		got, want uint64
	}{
		{"sizeof(PyObject)", d.Object.Size, 16},
		{"ob_type", d.Object.ObType, 8},
		{"ob_size of a tuple", d.Tuple.ObSize, 16},
		{"ob_size of bytes", d.Bytes.ObSize, 16},
		{"length of a str", d.Unicode.Length, 16},
	}
	for _, f := range fixed {
		if f.got != f.want {
			return fmt.Errorf("%s is %d, not %d", f.name, f.got, f.want)
		}
	}
	if d.Code.CodeAdaptive < 16 || d.Interp.GILHolder <= d.Interp.GILRuntimeState ||
		d.Interp.GILRuntimeStateLocked <= d.Interp.GILRuntimeState {
		return fmt.Errorf("the code object or the GIL is laid out unlike 3.14's")
	}
	return nil
}
