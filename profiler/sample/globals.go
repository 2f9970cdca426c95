package sample

import (
	"encoding/binary"
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
// the entries, in insertion order. A dict subclass (exec with one as
// globals) has the same layout after its header. TestCodeModules checks
// all of it on running interpreters of every version here: wrappers whose
// __module__ was rewritten, globals of a dict subclass, __name__ set after
// many other keys, and deleted.
const (
	dictKeysAfterHeader   = 16 // ma_keys, from the end of the object header
	dictValuesAfterHeader = 24 // ma_values
	keysLog2Size          = 8
	keysLog2IndexBytes    = 9
	keysKind              = 10
	keysNentries          = 24
	keysIndices           = 32

	// dk_kind: a unicode-keyed table's entries are (key, value) pairs, a
	// general one's (hash, key, value).
	keysKindGeneral  = 0
	keysKindUnicode  = 1
	generalEntrySize = 24
	unicodeEntrySize = 16

	// strHashAfterLength is where a str's cached hash is, from its length
	// (PyASCIIObject: length, then hash).
	strHashAfterLength = 8

	// typeFlags is the offset of tp_flags in a type object, the same in
	// every release since long before 3.12 (cpython/object.h: the header
	// of a variable-size object, then tp_name and 17 more pointer-sized
	// fields), and dictSubclassFlag the bit set in the flags of dict and
	// of every subclass of it (Py_TPFLAGS_DICT_SUBCLASS).
	typeFlags        = 168
	dictSubclassFlag = 1 << 29
	// strSubclassFlag is set in the flags of str and of every subclass of
	// it (Py_TPFLAGS_UNICODE_SUBCLASS).
	strSubclassFlag = 1 << 28

	// maxGlobalsEntries bounds the entries read of one dict: a module of
	// this many globals is beyond any real program's, and a corrupt count
	// must not make us read more. keysByContent bounds the keys whose text
	// is read to find __name__ before its str object is known (see
	// objectReader.nameKey).
	maxGlobalsEntries = 1 << 14
	keysByContent     = 64
	// maxLog2Size bounds the index a keys object may declare: a table of
	// maxGlobalsEntries entries has at most twice as many slots.
	maxLog2Size = 16
)

// ErrUnknownName: the str object of the key "__name__" is not known yet
// (findName), so a dict's name cannot be looked up.
var ErrUnknownName = errors.New("the key __name__ is not known yet")

// globalsName returns the str __name__ in the dict at addr, "" when the
// dict has no __name__ or holds another object under it (the agents then
// name the code from its file too). ErrInconsistent means the dict
// changed while it was read (a resize moves its entries to a new keys
// object, which reads empty until they are copied): the name is then not
// known yet, and must not be cached as absent. Another error means the
// dict could not be read.
func (o *objectReader) globalsName(addr, dictType Addr) (string, error) {
	head, err := o.dictHead(addr, dictType)
	if err != nil {
		return "", err
	}
	t, err := o.readKeys(head.keys)
	if err != nil {
		return "", err
	}
	if head.used > t.nentries {
		return "", fmt.Errorf("%w: globals %#x changed while read", ErrInconsistent, addr)
	}
	value, found, err := o.findName(t)
	if err != nil {
		return "", err
	}
	if !found {
		// Absent, unless the dict was resized meanwhile.
		if again, err := o.dictHead(addr, dictType); err != nil || again != head {
			return "", fmt.Errorf("%w: globals %#x changed while read", ErrInconsistent, addr)
		}
		return "", nil
	}
	name, err := o.readString(value)
	if err != nil {
		return "", nil // not a str: no module name, as for the agents
	}
	return name, nil
}

// dictHeader is what globalsName reads of a dict object: its count of
// items (ma_used) and its keys object.
type dictHeader struct {
	used uint64
	keys Addr
}

// dictHead reads the header of the dict at addr, a combined table of dict
// or a subclass of it.
func (o *objectReader) dictHead(addr, dictType Addr) (dictHeader, error) {
	hdr := o.lay.obType + 8
	dict := make([]byte, hdr+dictValuesAfterHeader+8)
	if err := o.mem.read(addr, dict); err != nil {
		return dictHeader{}, err
	}
	if err := o.checkDict(ptr(dict, o.lay.obType), dictType); err != nil {
		return dictHeader{}, fmt.Errorf("globals %#x: %w", addr, err)
	}
	if ptr(dict, hdr+dictValuesAfterHeader) != 0 {
		return dictHeader{}, fmt.Errorf("%w: globals %#x are a split table", ErrInconsistent, addr)
	}
	return dictHeader{used: u64(dict, hdr), keys: ptr(dict, hdr+dictKeysAfterHeader)}, nil
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

// keysTable is a dict's keys object as read: its hash index and its
// entries.
type keysTable struct {
	log2Size uint8
	general  bool   // entries are (hash, key, value), not (key, value)
	nentries uint64 // entries used, deleted ones included
	indices  []byte // 1<<log2Size slots of the width log2Size gives
	entries  []byte
}

// entrySize is the size of one entry.
func (t *keysTable) entrySize() uint64 {
	if t.general {
		return generalEntrySize
	}
	return unicodeEntrySize
}

// key and value return entry i's fields.
func (t *keysTable) key(i uint64) Addr   { return ptr(t.entries, i*t.entrySize()+t.entrySize()-16) }
func (t *keysTable) value(i uint64) Addr { return ptr(t.entries, i*t.entrySize()+t.entrySize()-8) }

// hash is entry i's stored hash: general tables only.
func (t *keysTable) hash(i uint64) uint64 { return u64(t.entries, i*t.entrySize()) }

// index returns slot i of the hash index: an entry, or -1 for a slot
// never used (the end of a probe) or -2 for one whose entry was deleted.
// Slots are 1, 2, 4 or 8 bytes wide as the table's size needs.
func (t *keysTable) index(i uint64) int64 {
	switch {
	case t.log2Size < 8:
		return int64(int8(t.indices[i]))
	case t.log2Size < 16:
		return int64(int16(binary.LittleEndian.Uint16(t.indices[2*i:])))
	case t.log2Size < 32:
		return int64(int32(binary.LittleEndian.Uint32(t.indices[4*i:])))
	}
	return int64(binary.LittleEndian.Uint64(t.indices[8*i:]))
}

// indexWidthLog2 is log2 of the width of an index slot of a table of
// 1<<log2Size slots.
func indexWidthLog2(log2Size uint8) uint8 {
	switch {
	case log2Size < 8:
		return 0
	case log2Size < 16:
		return 1
	case log2Size < 32:
		return 2
	}
	return 3
}

// readKeys reads the keys object at keys, index and entries, when it holds
// no more than maxGlobalsEntries entries.
func (o *objectReader) readKeys(keys Addr) (*keysTable, error) {
	if keys == 0 {
		return nil, fmt.Errorf("%w: dict without keys", ErrInconsistent)
	}
	head := make([]byte, keysIndices)
	if err := o.mem.read(keys, head); err != nil {
		return nil, err
	}
	t := &keysTable{log2Size: head[keysLog2Size], nentries: u64(head, keysNentries)}
	switch kind := head[keysKind]; kind {
	case keysKindUnicode:
	case keysKindGeneral:
		t.general = true
	default:
		return nil, fmt.Errorf("%w: dict keys of kind %d", ErrInconsistent, kind)
	}
	log2Index := uint64(head[keysLog2IndexBytes])
	if t.log2Size > maxLog2Size || log2Index != uint64(t.log2Size+indexWidthLog2(t.log2Size)) || t.nentries > 1<<t.log2Size {
		return nil, fmt.Errorf("%w: dict keys with %d entries, 2^%d slots, 2^%d index bytes", ErrInconsistent, t.nentries, t.log2Size, log2Index)
	}
	if t.nentries > maxGlobalsEntries {
		return nil, fmt.Errorf("%w: globals of %d entries", ErrInconsistent, t.nentries)
	}
	buf := make([]byte, 1<<log2Index+t.nentries*t.entrySize())
	if err := o.mem.read(keys+keysIndices, buf); err != nil {
		return nil, err
	}
	t.indices, t.entries = buf[:1<<log2Index], buf[1<<log2Index:]
	return t, nil
}

// findName returns the value stored under __name__ in t. Modules and the
// dicts programs make for exec mostly share one str object for the key
// "__name__" (the interpreter's own), and a module's __name__ is its
// first key: the first dict searched has its keys read as text, up to
// keysByContent of them, to learn that object and its hash. From then on
// a dict is searched the way the interpreter searches it, by that hash
// through its index, so that a __name__ set late, under another str
// object, is found as the interpreter finds it. Until the object is
// known a name not found is an error: not known to be absent.
func (o *objectReader) findName(t *keysTable) (Addr, bool, error) {
	if o.nameKey != 0 {
		// Read again each time: freed, its memory may be another object's
		// now; and after an exec the same address holds the new program's
		// "__name__", hashed with its own seed.
		text, err := o.readString(o.nameKey)
		if err == nil && text == "__name__" {
			o.nameHash, err = o.strHash(o.nameKey)
		}
		if err != nil || text != "__name__" {
			o.nameKey = 0
		}
	}
	if o.nameKey == 0 {
		return o.learnName(t)
	}
	return o.lookupName(t)
}

// strHash reads the hash a str object cached.
func (o *objectReader) strHash(s Addr) (uint64, error) {
	var h [8]byte
	err := o.mem.read(s+Addr(o.lay.strLength+strHashAfterLength), h[:])
	return binary.LittleEndian.Uint64(h[:]), err
}

// learnName finds __name__ among the first keysByContent keys of t by
// their text, and remembers its str object and hash.
func (o *objectReader) learnName(t *keysTable) (Addr, bool, error) {
	for i := uint64(0); i < t.nentries && i < keysByContent; i++ {
		key := t.key(i)
		if key == 0 {
			continue // a deleted entry
		}
		if text, err := o.readString(key); err != nil || text != "__name__" {
			continue
		}
		hash, err := o.strHash(key)
		if err != nil {
			return 0, false, err
		}
		o.nameKey, o.nameHash = key, hash
		return t.value(i), true, nil
	}
	return 0, false, fmt.Errorf("%w: no __name__ among the first %d globals to learn its key from", ErrUnknownName, keysByContent)
}

// lookupName probes t's index for the hash of "__name__" in the order the
// interpreter does (dictobject.c: i = hash & mask, then i*5 + perturb + 1
// with perturb shifted right by 5 each step), up to a slot never used.
func (o *objectReader) lookupName(t *keysTable) (Addr, bool, error) {
	mask := uint64(1)<<t.log2Size - 1
	perturb := o.nameHash
	i := o.nameHash & mask
	for range 1<<t.log2Size + 64 { // every slot is reached before this
		switch ix := t.index(i); {
		case ix == -1:
			return 0, false, nil
		case ix >= 0 && uint64(ix) < t.nentries:
			if o.isNameKey(t, uint64(ix)) {
				return t.value(uint64(ix)), true, nil
			}
		case ix >= 0:
			return 0, false, fmt.Errorf("%w: dict index %d past %d entries", ErrInconsistent, ix, t.nentries)
		}
		perturb >>= 5
		i = (i*5 + perturb + 1) & mask
	}
	return 0, false, fmt.Errorf("%w: a dict index with no free slot", ErrInconsistent)
}

// isNameKey reports whether entry i's key is "__name__": the known object,
// or another str of the same hash and text.
func (o *objectReader) isNameKey(t *keysTable, i uint64) bool {
	key := t.key(i)
	if key == o.nameKey {
		return true
	}
	if key == 0 || t.general && t.hash(i) != o.nameHash {
		return false
	}
	text, err := o.readStringOrSubclass(key)
	return err == nil && text == "__name__"
}
