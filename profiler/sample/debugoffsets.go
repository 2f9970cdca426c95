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
// so 3.14+ needs its own mirror; TestDebugOffsetsMatchHeaders checks this
// one against the installed 3.13 headers.
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

// debugOffsets313Size is sizeof(_Py_DebugOffsets) in 3.13.
var debugOffsets313Size = binary.Size(debugOffsets313{})

// parseDebugOffsets313 decodes raw, the first bytes of _PyRuntime.
func parseDebugOffsets313(raw []byte) (*debugOffsets313, error) {
	if len(raw) < debugOffsets313Size {
		return nil, fmt.Errorf("debug offsets: %d bytes, want %d", len(raw), debugOffsets313Size)
	}
	var d debugOffsets313
	if err := binary.Read(bytes.NewReader(raw), endian, &d); err != nil {
		return nil, fmt.Errorf("debug offsets: %w", err)
	}
	if string(d.Cookie[:]) != debugCookie {
		return nil, fmt.Errorf("debug offsets: cookie %q, want %q", d.Cookie[:], debugCookie)
	}
	return &d, nil
}

// layout turns the debug offsets into the walker's layout. A few offsets
// are not in the 3.13 table and are derived from the 3.13 headers; each is
// checked by TestDebugOffsetsMatchHeaders:
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
