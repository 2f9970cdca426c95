package sample

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pyprof/pyprof/profiler/wire"
)

// objectReader decodes the few object kinds the walker follows out of a
// code object: str (co_filename, co_qualname) and bytes (co_linetable).
type objectReader struct {
	mem         *memReader
	lay         *layout
	unicodeType Addr // &PyUnicode_Type, to reject a pointer to anything else
	bytesType   Addr // &PyBytes_Type
	// nameKey is the str object "__name__" seen as a key of globals, 0
	// until one was, and nameHash its hash (see findName).
	nameKey  Addr
	nameHash uint64
}

const (
	// speculativeRead is read with an object's header so that most names
	// and line tables arrive in one call.
	speculativeRead = 256
	// maxStringChars and maxBytesLen bound what a corrupt length can make
	// us read; file names and line tables are far smaller.
	maxStringChars = 1 << 30
	maxBytesLen    = 1 << 22
)

// readObject reads an object of the given type at addr: its header and,
// in the same call, the first speculativeRead bytes after it.
func (o *objectReader) readObject(addr, typ Addr, header uint64) ([]byte, error) {
	if addr == 0 {
		return nil, fmt.Errorf("%w: null object", ErrInconsistent)
	}
	buf := make([]byte, header+speculativeRead)
	if err := o.mem.read(addr, buf); err != nil {
		// The object may end near the end of a mapping: retry the header
		// alone.
		buf = buf[:header]
		if err := o.mem.read(addr, buf); err != nil {
			return nil, err
		}
	}
	if t := ptr(buf, o.lay.obType); t != typ {
		return nil, fmt.Errorf("%w: object at %#x has type %#x, want %#x", ErrInconsistent, addr, t, typ)
	}
	return buf, nil
}

// payload returns n bytes at addr+off, from buf when it holds them.
func (o *objectReader) payload(buf []byte, addr Addr, off, n uint64) ([]byte, error) {
	if off+n <= uint64(len(buf)) {
		return buf[off : off+n], nil
	}
	out := make([]byte, n)
	return out, o.mem.read(addr+Addr(off), out)
}

// readBytes reads a bytes object.
func (o *objectReader) readBytes(addr Addr) ([]byte, error) {
	l := o.lay
	buf, err := o.readObject(addr, o.bytesType, max(l.bytesSize+8, l.bytesData))
	if err != nil {
		return nil, err
	}
	n := u64(buf, l.bytesSize)
	if n > maxBytesLen {
		return nil, fmt.Errorf("%w: bytes of length %d", ErrInconsistent, n)
	}
	return o.payload(buf, addr, l.bytesData, n)
}

// readString reads a str object: compact ASCII, compact 1-, 2- or 4-byte
// kinds, or a legacy string whose data lives in a separate block
// (cpython/unicodeobject.h, PyUnicode_DATA).
func (o *objectReader) readString(addr Addr) (string, error) {
	buf, err := o.readObject(addr, o.unicodeType, o.lay.strDataPtr+8)
	if err != nil {
		return "", err
	}
	return o.decodeString(addr, buf)
}

// readStringOrSubclass reads a str object, or an instance of a subclass
// of str, as a dict compares keys: a key "__name__" of a str subclass is
// "__name__" to the lookup the agents make.
func (o *objectReader) readStringOrSubclass(addr Addr) (string, error) {
	if addr == 0 {
		return "", fmt.Errorf("%w: null object", ErrInconsistent)
	}
	buf := make([]byte, o.lay.strDataPtr+8)
	if err := o.mem.read(addr, buf); err != nil {
		return "", err
	}
	if typ := ptr(buf, o.lay.obType); typ != o.unicodeType && !o.isStrSubclass(typ) {
		return "", fmt.Errorf("%w: object at %#x of type %#x is not a str", ErrInconsistent, addr, typ)
	}
	return o.decodeString(addr, buf)
}

// isStrSubclass reports whether the type at typ is a subclass of str.
func (o *objectReader) isStrSubclass(typ Addr) bool {
	var flags [8]byte
	return typ != 0 && o.mem.read(typ+typeFlags, flags[:]) == nil && u64(flags[:], 0)&strSubclassFlag != 0
}

// decodeString decodes the str object at addr whose header, and perhaps
// more, readObject read into buf.
func (o *objectReader) decodeString(addr Addr, buf []byte) (string, error) {
	l := o.lay
	var err error
	n := u64(buf, l.strLength)
	state := u32(buf, l.strState)
	kind := uint64(state>>stateKindShift) & stateKindMask
	if n > maxStringChars || (kind != 1 && kind != 2 && kind != 4) {
		return "", fmt.Errorf("%w: str of length %d kind %d", ErrInconsistent, n, kind)
	}
	// A character is at least a byte of UTF-8: the first wire.MaxString
	// make a name as long as the agents write one.
	n = min(n, wire.MaxString)
	var data []byte
	switch {
	case state&stateCompact != 0 && state&stateASCII != 0:
		data, err = o.payload(buf, addr, l.strASCIIData, n)
	case state&stateCompact != 0:
		data, err = o.payload(buf, addr, l.strCompactData, n*kind)
	default:
		data = make([]byte, n*kind)
		err = o.mem.read(ptr(buf, l.strDataPtr), data)
	}
	if err != nil {
		return "", err
	}
	return cutUTF8(decodeUCS(data, int(kind), state&stateASCII != 0), wire.MaxString), nil
}

// decodeUCS turns the canonical representation of a str into UTF-8. Kind 1
// is Latin-1 (ASCII when ascii is set), 2 is UCS-2, 4 is UCS-4. Lone
// surrogates (file names decoded with surrogateescape) become "?", as the
// agents write them.
func decodeUCS(data []byte, kind int, ascii bool) string {
	if kind == 1 && ascii {
		return string(data)
	}
	var sb strings.Builder
	sb.Grow(len(data))
	for i := 0; i+kind <= len(data); i += kind {
		var r rune
		switch kind {
		case 1:
			r = rune(data[i])
		case 2:
			r = rune(endian.Uint16(data[i:]))
		default:
			r = rune(endian.Uint32(data[i:]))
		}
		if !utf8.ValidRune(r) {
			r = '?'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// cutUTF8 cuts s to at most max bytes at the end of a character, as the
// agents cut the names they write.
func cutUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
