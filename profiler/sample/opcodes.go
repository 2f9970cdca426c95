package sample

// A frame that has a Python callee is suspended in the instruction that
// pushed the callee: a call, or one of the few other instructions that push
// a Python frame without going through C (a generator resumed by for or
// send, a property getter, __getitem__, __getattribute__). Its instruction
// pointer rests there until the callee returns. A stack read while the
// target moved can put a dead frame (stopped at its return) or a running
// one above it: the walk checks every caller against this.
//
// Finding where instructions start needs the number of inline cache units
// each opcode is followed by, in this version's numbering, specialised and
// instrumented forms included (the interpreter rewrites co_code_adaptive in
// place, always within an instruction's family, so the boundaries and the
// families never change).

// opFamily is a base opcode with its specialised and instrumented forms.
type opFamily struct {
	name   string // the base opcode, as dis names it
	caches uint8  // inline cache units after each instruction
	// pushes is set when the family can push a Python frame inline.
	pushes bool
	ops    []uint8 // every opcode of the family, the base first
}

// opcodeTable classifies the opcode bytes of one CPython minor version.
type opcodeTable struct {
	// callerAtLastUnit is where a caller's instruction pointer rests: the
	// last unit of the call instruction (3.12's prev_instr, set past the
	// inline caches when the callee is pushed), or its first unit (3.13+'s
	// instr_ptr, set as each instruction starts).
	callerAtLastUnit bool
	caches           [256]uint8
	pushes           [256]bool
	// unsized opcodes stand in for another whose size is kept elsewhere
	// (INSTRUMENTED_LINE, INSTRUMENTED_INSTRUCTION: the original opcode is
	// in the code's monitoring data).
	unsized [256]bool
}

func newOpcodeTable(callerAtLastUnit bool, unsized []uint8, families []opFamily) *opcodeTable {
	t := &opcodeTable{callerAtLastUnit: callerAtLastUnit}
	for _, op := range unsized {
		t.unsized[op] = true
	}
	for _, f := range families {
		for _, op := range f.ops {
			t.caches[op], t.pushes[op] = f.caches, f.pushes
		}
	}
	return t
}

// families312, families313 and families314 list the families that have
// inline caches or push frames; every other opcode has neither. Numbers
// are from Include/opcode.h (3.12) and Include/opcode_ids.h (3.13, 3.14);
// the families that push frames are those with an instruction that ends in
// DISPATCH_INLINED or _PUSH_FRAME in Python/bytecodes.c. TestOpcodeTables
// checks the numbers against the dis and opcode modules of each
// interpreter, TestFindCallSites the decoding against dis, and
// TestCallSites that a stable stack through each kind of call is read.
var families312 = []opFamily{
	{"CALL", 3, true, []uint8{171, 23, 24, 28, 29, 34, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 56, 241}},
	{"CALL_FUNCTION_EX", 0, true, []uint8{142, 244}},
	{"SEND", 1, true, []uint8{123, 168}},
	{"FOR_ITER", 1, true, []uint8{93, 62, 63, 64, 65, 248}},
	{"BINARY_SUBSCR", 1, true, []uint8{25, 19, 20, 21, 22}},
	{"LOAD_ATTR", 9, true, []uint8{106, 70, 72, 73, 76, 77, 78, 79, 80, 81, 82}},
	{"BINARY_OP", 1, false, []uint8{122, 6, 7, 8, 10, 13, 14, 16, 18}},
	{"COMPARE_OP", 1, false, []uint8{107, 57, 58, 59}},
	{"STORE_SUBSCR", 1, false, []uint8{60, 159, 160}},
	{"LOAD_SUPER_ATTR", 1, false, []uint8{141, 66, 67, 237}},
	{"UNPACK_SEQUENCE", 1, false, []uint8{92, 161, 166, 167}},
	{"STORE_ATTR", 4, false, []uint8{95, 113, 148, 153}},
	{"LOAD_GLOBAL", 4, false, []uint8{116, 111, 112}},
}

var families313 = []opFamily{
	{"CALL", 3, true, []uint8{53, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176,
		177, 178, 179, 180, 181, 244}},
	{"CALL_KW", 0, true, []uint8{57, 245}},
	{"CALL_FUNCTION_EX", 0, true, []uint8{54, 246}},
	{"SEND", 1, true, []uint8{104, 208}},
	{"FOR_ITER", 1, true, []uint8{72, 187, 188, 189, 190, 243}},
	{"BINARY_SUBSCR", 1, true, []uint8{5, 157, 158, 159, 160, 161}},
	{"LOAD_ATTR", 9, true, []uint8{82, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202}},
	{"BINARY_OP", 1, false, []uint8{45, 3, 150, 151, 152, 153, 154, 155, 156}},
	{"COMPARE_OP", 1, false, []uint8{58, 182, 183, 184}},
	{"CONTAINS_OP", 1, false, []uint8{59, 185, 186}},
	{"STORE_SUBSCR", 1, false, []uint8{39, 212, 213}},
	{"TO_BOOL", 3, false, []uint8{40, 214, 215, 216, 217, 218, 219}},
	// ENTER_EXECUTOR (70) takes the place of a JUMP_BACKWARD.
	{"JUMP_BACKWARD", 1, false, []uint8{77, 249, 70}},
	{"POP_JUMP_IF_FALSE", 1, false, []uint8{97, 251}},
	{"POP_JUMP_IF_NONE", 1, false, []uint8{98, 252}},
	{"POP_JUMP_IF_NOT_NONE", 1, false, []uint8{99, 253}},
	{"POP_JUMP_IF_TRUE", 1, false, []uint8{100, 250}},
	{"LOAD_SUPER_ATTR", 1, false, []uint8{93, 205, 206, 242}},
	{"UNPACK_SEQUENCE", 1, false, []uint8{117, 220, 221, 222}},
	{"STORE_ATTR", 4, false, []uint8{108, 209, 210, 211}},
	{"LOAD_GLOBAL", 4, false, []uint8{91, 203, 204}},
}

// families314: 3.14 merged BINARY_SUBSCR into BINARY_OP, whose
// BINARY_OP_SUBSCR_GETITEM pushes __getitem__, so the whole family pushes;
// CALL_KW grew inline caches; `with` calls __enter__ through LOAD_SPECIAL
// and a plain CALL.
var families314 = []opFamily{
	{"CALL", 3, true, []uint8{52, 143, 144, 145, 146, 147, 148, 149, 150, 154, 155, 156, 157, 158, 159, 160,
		161, 162, 163, 164, 165, 250}},
	{"CALL_KW", 3, true, []uint8{55, 151, 152, 153, 251}},
	{"CALL_FUNCTION_EX", 0, true, []uint8{4, 252}},
	{"SEND", 1, true, []uint8{106, 197}},
	{"FOR_ITER", 1, true, []uint8{70, 171, 172, 173, 174, 237}},
	{"BINARY_OP", 5, true, []uint8{44, 3, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142}},
	{"LOAD_ATTR", 9, true, []uint8{80, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189}},
	{"COMPARE_OP", 1, false, []uint8{56, 166, 167, 168}},
	{"CONTAINS_OP", 1, false, []uint8{57, 169, 170}},
	{"STORE_SUBSCR", 1, false, []uint8{38, 201, 202}},
	{"TO_BOOL", 3, false, []uint8{39, 203, 204, 205, 206, 207, 208}},
	// ENTER_EXECUTOR (255) takes the place of a JUMP_BACKWARD.
	{"JUMP_BACKWARD", 1, false, []uint8{75, 175, 176, 253, 255}},
	{"POP_JUMP_IF_FALSE", 1, false, []uint8{100, 242}},
	{"POP_JUMP_IF_NONE", 1, false, []uint8{101, 243}},
	{"POP_JUMP_IF_NOT_NONE", 1, false, []uint8{102, 244}},
	{"POP_JUMP_IF_TRUE", 1, false, []uint8{103, 241}},
	{"LOAD_SUPER_ATTR", 1, false, []uint8{96, 194, 195, 249}},
	{"UNPACK_SEQUENCE", 1, false, []uint8{119, 209, 210, 211}},
	{"STORE_ATTR", 4, false, []uint8{110, 198, 199, 200}},
	{"LOAD_GLOBAL", 4, false, []uint8{92, 192, 193}},
}

// opcodes312, opcodes313 and opcodes314 are the tables; the unsized
// opcodes are INSTRUMENTED_INSTRUCTION and INSTRUMENTED_LINE.
var (
	opcodes312 = newOpcodeTable(true, []uint8{253, 254}, families312)
	opcodes313 = newOpcodeTable(false, []uint8{247, 254}, families313)
	opcodes314 = newOpcodeTable(false, []uint8{238, 254}, families314)
)

// opcodesUnknown stands in for the table of a version newer than this
// build knows, whose opcodes are numbered anew: no instruction can be
// sized, so every unit may be a call site and callers are not checked
// (checkCaller) beyond what comparing two reads finds.
var opcodesUnknown = newOpcodeTable(false, allOpcodes(), nil)

func allOpcodes() []uint8 {
	ops := make([]uint8, 256)
	for i := range ops {
		ops[i] = uint8(i)
	}
	return ops
}

// opcodesFor returns the table of a version.
func opcodesFor(v Version) *opcodeTable {
	switch {
	case v.Major == 3 && v.Minor == 12:
		return opcodes312
	case v.Major == 3 && v.Minor == 13:
		return opcodes313
	case v.Major == 3 && v.Minor == 14:
		return opcodes314
	}
	return opcodesUnknown
}

// callSites marks the code units of one code object where a caller's
// instruction pointer may rest.
type callSites struct {
	bits []uint64
	// starts marks the first unit of each instruction that can push a
	// frame. Native code called back into Python (next(), sum() over a
	// generator) is entered from there on every version: the instruction
	// pointer is set as an instruction starts, and only 3.12 moves it to
	// the last unit, and only when it pushes a Python frame itself.
	starts []uint64
	// from is the first unit whose instruction could not be sized (code
	// instrumented for tracing when it was read): from there on every unit
	// is taken for a call site.
	from int
}

// findCallSites decodes co_code_adaptive, code, instruction by instruction.
func (t *opcodeTable) findCallSites(code []byte) callSites {
	units := len(code) / 2
	cs := callSites{bits: make([]uint64, (units+63)/64), starts: make([]uint64, (units+63)/64), from: units}
	for i := 0; i < units; {
		op := code[2*i]
		if t.unsized[op] {
			cs.from = i
			break
		}
		last := i + int(t.caches[op])
		if t.pushes[op] {
			at := i
			if t.callerAtLastUnit {
				at = last
			}
			if at < units {
				cs.bits[at/64] |= 1 << (at % 64)
			}
			cs.starts[i/64] |= 1 << (i % 64)
		}
		i = last + 1
	}
	return cs
}

// has reports whether a caller may rest at unit lasti.
func (cs *callSites) has(lasti int64) bool {
	if lasti < 0 {
		return false
	}
	if lasti >= int64(cs.from) {
		return true
	}
	return cs.bits[lasti/64]&(1<<(lasti%64)) != 0
}

// callsThroughC reports whether a frame resting at unit lasti may be in a
// call that went through native code: at a call site, or at the start of
// an instruction that calls.
func (cs *callSites) callsThroughC(lasti int64) bool {
	if cs.has(lasti) {
		return true
	}
	return lasti >= 0 && lasti/64 < int64(len(cs.starts)) && cs.starts[lasti/64]&(1<<(lasti%64)) != 0
}
