package sample

import (
	"errors"
	"fmt"
)

// codeKey is the part of a code object's header that identifies its
// decoding. Code objects are freed and their addresses reused by new ones,
// so a cached decoding is only used while the header still matches: a new
// code object at the same address would need the same type, the same
// filename, qualname and line table objects and the same first line to pass.
type codeKey struct {
	typ, filename, qualname, linetable Addr
	units                              int64 // Py_SIZE: code units
	firstLine, firstTraceable          int32
}

// Code is a decoded Python code object: one function. Every frame of the
// function points to the same Code until the code object is freed, and a
// Code is never modified: callers may key maps by *Code.
type Code struct {
	// Filename is co_filename, exactly.
	Filename string
	// Qualname is co_qualname.
	Qualname string
	// Module is the __name__ of the module the code was defined in, read
	// from the globals of the first frame seen running it, as the trace
	// agents read it;
	// "" when that could not be read or the globals have no str __name__,
	// and the name is then guessed from Filename (callgraph.FuncName).
	Module string
	// FirstLine is co_firstlineno, the def line.
	FirstLine int

	key   codeKey
	lines LineTable
	calls callSites
}

// maxCodeCache bounds the cache; past it the cache starts over, which costs
// one decoding per live code object.
const maxCodeCache = 1 << 16

// codeCache decodes each code object once.
type codeCache struct {
	lay      *layout
	ops      *opcodeTable
	obj      *objectReader
	codeType Addr // &PyCode_Type
	funcType Addr // &PyFunction_Type; 0: modules are not read
	dictType Addr // &PyDict_Type; 0: modules are read from func_module
	byAddr   map[Addr]*Code
	decoded  int64 // decodings made, for tests and benchmarks
}

func newCodeCache(lay *layout, ops *opcodeTable, obj *objectReader, codeType Addr) *codeCache {
	return &codeCache{lay: lay, ops: ops, obj: obj, codeType: codeType, byAddr: map[Addr]*Code{}}
}

// keyOf extracts the key from a code object header of codeHeaderSize bytes.
func (c *codeCache) keyOf(hdr []byte) codeKey {
	l := c.lay
	return codeKey{
		typ:            ptr(hdr, l.obType),
		filename:       ptr(hdr, l.coFilename),
		qualname:       ptr(hdr, l.coQualname),
		linetable:      ptr(hdr, l.coLinetable),
		units:          int64(u64(hdr, l.varSize)),
		firstLine:      int32(u32(hdr, l.coFirstLine)),
		firstTraceable: int32(u32(hdr, l.coFirstTraceable)),
	}
}

// runner is what a frame running a code object says of where the code
// runs: its function (f_funcobj) and its globals (f_globals), 0 when
// unknown.
type runner struct {
	funcobj, globals Addr
}

// get returns the decoding of the code object at addr whose header, read
// in this sample, is hdr; r is what a frame running it says, which names
// its module when the code is first decoded. A module that could not be
// read because the globals changed while read is an ErrInconsistent
// error, as a stack that moved is: the next sample reads them again.
func (c *codeCache) get(addr Addr, hdr []byte, r runner) (*Code, error) {
	key := c.keyOf(hdr)
	if key.typ != c.codeType {
		return nil, fmt.Errorf("%w: frame code %#x has type %#x, not code", ErrInconsistent, addr, key.typ)
	}
	if ci, ok := c.byAddr[addr]; ok && ci.key == key {
		return ci, nil
	}
	ci, err := c.decode(addr, key)
	if err != nil {
		return nil, err
	}
	if ci.Module, err = c.moduleOf(addr, r); err != nil {
		return nil, err
	}
	if len(c.byAddr) >= maxCodeCache {
		clear(c.byAddr)
	}
	c.byAddr[addr] = ci
	return ci, nil
}

// maxCodeUnits bounds the bytecode read for one code object; real code is
// far smaller.
const maxCodeUnits = 1 << 22

// decode reads the names and line table a key points to, and the bytecode
// of the code object at addr to find its call sites.
func (c *codeCache) decode(addr Addr, key codeKey) (*Code, error) {
	if key.units <= 0 || key.units > maxCodeUnits {
		return nil, fmt.Errorf("%w: code %#x of %d units", ErrInconsistent, addr, key.units)
	}
	code := make([]byte, 2*key.units)
	if err := c.obj.mem.read(addr+Addr(c.lay.coCode), code); err != nil {
		return nil, fmt.Errorf("co_code_adaptive: %w", err)
	}
	filename, err := c.obj.readString(key.filename)
	if err != nil {
		return nil, fmt.Errorf("co_filename: %w", err)
	}
	qualname, err := c.obj.readString(key.qualname)
	if err != nil {
		return nil, fmt.Errorf("co_qualname: %w", err)
	}
	raw, err := c.obj.readBytes(key.linetable)
	if err != nil {
		return nil, fmt.Errorf("co_linetable: %w", err)
	}
	// A malformed table keeps the entries decoded before the fault: lines
	// past it read as unknown, names stay right.
	lines, _ := DecodeLineTable(raw, int(key.firstLine))
	c.decoded++
	return &Code{Filename: filename, Qualname: qualname, FirstLine: int(key.firstLine), key: key, lines: lines,
		calls: c.ops.findCallSites(code)}, nil
}

// moduleOf reads the module name of the code object at code from what a
// frame running it says: the __name__ in the frame's globals, as the trace
// agents read it, read once per code object as its names are. Where the
// globals cannot be read it falls back to the frame's function's
// func_module, which is that __name__ as it was when the function was
// made unless something rewrote it (functools.wraps copies the wrapped
// function's). It returns "" (module unknown: named from the file) when
// neither can be read, and an error only when the globals changed while
// read.
func (c *codeCache) moduleOf(code Addr, r runner) (string, error) {
	if r.globals != 0 && c.dictType != 0 {
		name, err := c.obj.globalsName(r.globals, c.dictType)
		switch {
		case err == nil:
			return name, nil // "" when __name__ is absent or not a str, as for the agents
		case errors.Is(err, ErrInconsistent):
			return "", err
		}
	}
	return c.funcModule(code, r.funcobj), nil
}

// funcModule reads func_module of the function at funcobj, "" when there
// is none or it is not a function of that code (the frame was reused
// while read, or the function's __code__ was replaced), or when no str
// name can be read.
func (c *codeCache) funcModule(code, funcobj Addr) string {
	l := c.lay
	if funcobj == 0 || c.funcType == 0 || l.funcModule == 0 {
		return ""
	}
	buf := make([]byte, max(l.obType, l.funcCode, l.funcModule)+8)
	if err := c.obj.mem.read(funcobj, buf); err != nil {
		return ""
	}
	if ptr(buf, l.obType) != c.funcType || ptr(buf, l.funcCode) != code {
		return ""
	}
	module, err := c.obj.readString(ptr(buf, l.funcModule))
	if err != nil {
		return ""
	}
	return module
}
