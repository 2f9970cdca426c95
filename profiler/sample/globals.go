package sample

import (
	"fmt"
)

// A module's globals are a dict, read here from outside the way the trace
// agents read globals["__name__"] from inside. The layout is CPython's
// combined-table dict, the same in 3.12, 3.13 and 3.14 (cpython/dictobject.h
// and internal/pycore_dict.h of each): after the object header come
// ma_used, a 64-bit tag, ma_keys and ma_values (NULL for a combined
// table); the keys object holds dk_refcnt, dk_log2_size,
// dk_log2_index_bytes and dk_kind (bytes), dk_version, dk_usable and
// dk_nentries, then the index table of 1<<dk_log2_index_bytes bytes and
// the entries, in insertion order. A dict subclass (exec with one as
// globals) has the same layout after its header. TestCodeModules checks
// all of it on running interpreters of every version here: wrappers whose
// __module__ was rewritten, globals of a dict subclass, __name__ set after
// many other keys, and deleted.
const (
	dictKeysAfterHeader   = 16 // ma_keys, from the end of the object header
	dictValuesAfterHeader = 24 // ma_values
	keysLog2IndexBytes    = 9
	keysKind              = 10
	keysNentries          = 24
	keysIndices           = 32

	// dk_kind: a unicode-keyed table's entries are (key, value) pairs, a
	// general one's (hash, key, value).
	keysKindGeneral = 0
	keysKindUnicode = 1

	// typeFlags is the offset of tp_flags in a type object, the same in
	// every release since long before 3.12 (cpython/object.h: the header
	// of a variable-size object, then tp_name and 17 more pointer-sized
	// fields), and dictSubclassFlag the bit set in the flags of dict and
	// of every subclass of it (Py_TPFLAGS_DICT_SUBCLASS).
	typeFlags        = 168
	dictSubclassFlag = 1 << 29

	// maxGlobalsEntries bounds the entries read of one dict: a module of
	// this many globals is beyond any real program's, and a corrupt count
	// must not make us read more. keysByContent bounds the keys whose text
	// is read to find __name__ before its str object is known (see
	// objectReader.nameKey).
	maxGlobalsEntries = 1 << 14
	keysByContent     = 64
	// maxLog2IndexBytes bounds what a corrupt keys object can make us
	// compute.
	maxLog2IndexBytes = 32
)

// globalsName returns the str __name__ in the dict at addr, "" when the
// dict has no __name__ or holds another object under it (the agents then
// name the code from its file too). An error means the dict could not be
// read.
func (o *objectReader) globalsName(addr, dictType Addr) (string, error) {
	hdr := o.lay.obType + 8
	dict := make([]byte, hdr+dictValuesAfterHeader+8)
	if err := o.mem.read(addr, dict); err != nil {
		return "", err
	}
	if err := o.checkDict(ptr(dict, o.lay.obType), dictType); err != nil {
		return "", fmt.Errorf("globals %#x: %w", addr, err)
	}
	if ptr(dict, hdr+dictValuesAfterHeader) != 0 {
		return "", fmt.Errorf("%w: globals %#x are a split table", ErrInconsistent, addr)
	}
	entries, size, err := o.dictEntries(ptr(dict, hdr+dictKeysAfterHeader))
	if err != nil {
		return "", err
	}
	value, found := o.findName(entries, size)
	if !found {
		return "", nil
	}
	name, err := o.readString(value)
	if err != nil {
		return "", nil // not a str: no module name, as for the agents
	}
	return name, nil
}

// checkDict checks that typ, the type of an object read as globals, is
// dict or a subclass of it.
func (o *objectReader) checkDict(typ, dictType Addr) error {
	if typ == dictType {
		return nil
	}
	var flags [8]byte
	if typ == 0 {
		return fmt.Errorf("%w: an object without a type", ErrInconsistent)
	}
	if err := o.mem.read(typ+typeFlags, flags[:]); err != nil {
		return err
	}
	if u64(flags[:], 0)&dictSubclassFlag == 0 {
		return fmt.Errorf("%w: an object of type %#x, not a dict", ErrInconsistent, typ)
	}
	return nil
}

// findName returns the value stored under __name__ among entries, of size
// bytes each. Modules and the dicts programs make for exec share one str
// object for the key "__name__" (the interpreter's own, or an interned
// constant), so once one dict showed it, the others are searched for that
// pointer, and the key found is read once to be sure it still is that
// string; until then, and in a dict whose key is another object, the
// first keysByContent keys are read as text.
func (o *objectReader) findName(entries []byte, size uint64) (Addr, bool) {
	keyAt := uint64(0)
	if size == 24 {
		keyAt = 8 // past me_hash
	}
	if o.nameKey != 0 {
		for i := uint64(0); i+size <= uint64(len(entries)); i += size {
			if ptr(entries, i+keyAt) != o.nameKey {
				continue
			}
			if text, err := o.readString(o.nameKey); err == nil && text == "__name__" {
				return ptr(entries, i+keyAt+8), true
			}
			o.nameKey = 0 // freed, its memory another object's now
			break
		}
	}
	read := 0
	for i := uint64(0); i+size <= uint64(len(entries)) && read < keysByContent; i += size {
		key := ptr(entries, i+keyAt)
		if key == 0 || key == o.nameKey {
			continue // a deleted entry, or one compared above
		}
		read++
		if text, err := o.readString(key); err == nil && text == "__name__" {
			if o.nameKey == 0 {
				o.nameKey = key
			}
			return ptr(entries, i+keyAt+8), true
		}
	}
	return 0, false
}

// dictEntries reads the entries of the keys object at keys, up to
// maxGlobalsEntries, and returns them with the size of one entry.
func (o *objectReader) dictEntries(keys Addr) ([]byte, uint64, error) {
	if keys == 0 {
		return nil, 0, fmt.Errorf("%w: dict without keys", ErrInconsistent)
	}
	head := make([]byte, keysIndices)
	if err := o.mem.read(keys, head); err != nil {
		return nil, 0, err
	}
	log2Index, kind := uint64(head[keysLog2IndexBytes]), head[keysKind]
	n := u64(head, keysNentries)
	var size uint64
	switch kind {
	case keysKindUnicode:
		size = 16
	case keysKindGeneral:
		size = 24
	default:
		return nil, 0, fmt.Errorf("%w: dict keys of kind %d", ErrInconsistent, kind)
	}
	if log2Index > maxLog2IndexBytes || n > 1<<log2Index {
		return nil, 0, fmt.Errorf("%w: dict keys with %d entries, 2^%d index bytes", ErrInconsistent, n, log2Index)
	}
	entries := make([]byte, min(n, maxGlobalsEntries)*size)
	err := o.mem.read(keys+Addr(keysIndices+1<<log2Index), entries)
	return entries, size, err
}
