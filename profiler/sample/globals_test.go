package sample

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// fakeHeap builds, in this process's memory, the objects globalsName
// reads (str keys and values, a dict and its keys object), laid out as
// 3.12 lays them out, so that it reads them from here as from a target.
type fakeHeap struct {
	lay      *layout
	strType  Addr
	dictType Addr
	keep     [][]byte // the objects, kept alive and in place
}

func (h *fakeHeap) alloc(n int) []byte {
	b := make([]byte, n)
	h.keep = append(h.keep, b)
	return b
}

// str makes a compact ASCII str of text whose cached hash is hash.
func (h *fakeHeap) str(text string, hash uint64) Addr {
	b := h.alloc(int(h.lay.strASCIIData) + len(text) + 1)
	binary.LittleEndian.PutUint64(b[h.lay.obType:], uint64(h.strType))
	binary.LittleEndian.PutUint64(b[h.lay.strLength:], uint64(len(text)))
	binary.LittleEndian.PutUint64(b[h.lay.strLength+strHashAfterLength:], hash)
	binary.LittleEndian.PutUint32(b[h.lay.strState:], 1<<stateKindShift|stateCompact|stateASCII)
	copy(b[h.lay.strASCIIData:], text)
	return addrOf(b)
}

// dictItem is one item of a fake dict: its key, hash and value.
type dictItem struct {
	key   Addr
	hash  uint64
	value Addr
}

// dict makes a dict of 8 slots holding entries, placed in its index by
// their hashes as the interpreter places them; used is its ma_used.
func (h *fakeHeap) dict(used uint64, entries []dictItem) Addr {
	const log2Size = 3
	keys := h.alloc(keysIndices + 1<<log2Size + len(entries)*unicodeEntrySize)
	keys[keysLog2Size], keys[keysLog2IndexBytes], keys[keysKind] = log2Size, log2Size, keysKindUnicode
	binary.LittleEndian.PutUint64(keys[keysNentries:], uint64(len(entries)))
	index := keys[keysIndices : keysIndices+1<<log2Size]
	for i := range index {
		index[i] = 0xff // -1: never used
	}
	for k, e := range entries {
		mask, perturb := uint64(1<<log2Size-1), e.hash
		i := e.hash & mask
		for index[i] != 0xff {
			perturb >>= 5
			i = (i*5 + perturb + 1) & mask
		}
		index[i] = byte(k)
		at := keysIndices + 1<<log2Size + k*unicodeEntrySize
		binary.LittleEndian.PutUint64(keys[at:], uint64(e.key))
		binary.LittleEndian.PutUint64(keys[at+8:], uint64(e.value))
	}
	hdr := h.lay.obType + 8
	d := h.alloc(int(hdr + dictValuesAfterHeader + 8))
	binary.LittleEndian.PutUint64(d[h.lay.obType:], uint64(h.dictType))
	binary.LittleEndian.PutUint64(d[hdr:], used)
	binary.LittleEndian.PutUint64(d[hdr+dictKeysAfterHeader:], uint64(addrOf(keys)))
	return addrOf(d)
}

// TestGlobalsName reads __name__ out of fake globals: the first dict
// teaches the reader the key's str object; a later dict holding __name__
// under another str object, past the keys read by text, is searched
// through its index; a dict read while a resize had moved it to an empty
// keys object is an inconsistent read, not a dict without __name__; and
// after an exec, the same str object hashed anew is searched by its new
// hash.
func TestGlobalsName(t *testing.T) {
	lay := layout312
	h := &fakeHeap{lay: &lay}
	h.strType, h.dictType = addrOf(h.alloc(8)), addrOf(h.alloc(8))
	const nameHash = 0x5bd1e995_1234567
	name := h.str("__name__", nameHash)
	nameObj := h.keep[len(h.keep)-1]
	o := &objectReader{mem: &memReader{pid: os.Getpid()}, lay: &lay, unicodeType: h.strType}

	first := h.dict(2, []dictItem{{name, nameHash, h.str("app.first", 1)}, {h.str("x", 7), 7, h.str("v", 2)}})
	if got, err := o.globalsName(first, h.dictType); err != nil || got != "app.first" {
		t.Fatalf("first dict: %q, %v; want app.first", got, err)
	}
	var late []dictItem
	for k := range 5 {
		late = append(late, dictItem{h.str(string(rune('a'+k)), uint64(k)), uint64(k), h.str("v", 3)})
	}
	late = append(late, dictItem{h.str("__name__", nameHash), nameHash, h.str("plugins.late", 4)})
	if got, err := o.globalsName(h.dict(6, late), h.dictType); err != nil || got != "plugins.late" {
		t.Errorf("__name__ under another str object: %q, %v; want plugins.late", got, err)
	}
	if got, err := o.globalsName(h.dict(5, late[:5]), h.dictType); err != nil || got != "" {
		t.Errorf("no __name__: %q, %v; want \"\", nil", got, err)
	}
	if got, err := o.globalsName(h.dict(6, nil), h.dictType); !errors.Is(err, ErrInconsistent) {
		t.Errorf("6 items in empty keys (a resize under way): %q, %v; want ErrInconsistent", got, err)
	}
	const seededAgain = 0x72
	binary.LittleEndian.PutUint64(nameObj[lay.strLength+strHashAfterLength:], seededAgain)
	execed := append(late[:5:5], dictItem{name, seededAgain, h.str("__main__", 5)})
	if got, err := o.globalsName(h.dict(6, execed), h.dictType); err != nil || got != "__main__" {
		t.Errorf("after an exec: %q, %v; want __main__", got, err)
	}
}
