package sample

import (
	"errors"
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
// the entries, in insertion order. A module's dict gets __name__ first,
// when the module object is made, so the name is almost always entry 0.
// TestCodeModules checks them on running interpreters of every version
// here: a wrapper whose __module__ was rewritten must still be named from
// its globals.
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

	// globalsEntriesRead is how many entries are looked at for __name__:
	// the module object puts it first, and a dict made by hand for exec
	// gets it, if at all, among its first keys.
	globalsEntriesRead = 8
	// maxLog2IndexBytes bounds what a corrupt keys object can make us
	// compute: 2^32 bytes of indices is beyond any real module.
	maxLog2IndexBytes = 32
)

// errNameUnseen: no __name__ among the entries looked at. The caller falls
// back to another source of the name, not to "no name".
var errNameUnseen = errors.New("no __name__ among the first entries of the globals")

// globalsName returns the str __name__ in the dict at addr, "" when the
// dict holds __name__ but not as a str. An error means the dict could not
// be read or the name was not among its first entries.
func (o *objectReader) globalsName(addr, dictType Addr) (string, error) {
	hdr := o.lay.obType + 8
	dict, err := o.readObject(addr, dictType, hdr+dictValuesAfterHeader+8)
	if err != nil {
		return "", err
	}
	if ptr(dict, hdr+dictValuesAfterHeader) != 0 {
		return "", fmt.Errorf("%w: globals %#x are a split table", ErrInconsistent, addr)
	}
	entries, size, err := o.dictEntries(ptr(dict, hdr+dictKeysAfterHeader))
	if err != nil {
		return "", err
	}
	keyAt := uint64(0)
	if size == 24 {
		keyAt = 8 // past me_hash
	}
	for i := uint64(0); i+size <= uint64(len(entries)); i += size {
		key := ptr(entries, i+keyAt)
		if key == 0 {
			continue // a deleted entry
		}
		if name, err := o.readString(key); err != nil || name != "__name__" {
			continue // a key that is not a str, or another one
		}
		value, err := o.readString(ptr(entries, i+keyAt+8))
		if err != nil {
			return "", nil
		}
		return value, nil
	}
	return "", errNameUnseen
}

// dictEntries reads the first entries of the keys object at keys, up to
// globalsEntriesRead, and returns them with the size of one entry.
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
	entries := make([]byte, min(n, globalsEntriesRead)*size)
	err := o.mem.read(keys+Addr(keysIndices+1<<log2Index), entries)
	return entries, size, err
}
