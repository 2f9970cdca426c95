package sample

import (
	"debug/elf"
	"errors"
	"fmt"
	"strconv"
)

// symbols holds the addresses pyprof needs, as link-time virtual addresses
// of one ELF file (add the load bias for the target's addresses).
type symbols struct {
	runtime     uint64 // _PyRuntime
	version     uint64 // Py_Version (3.11+), PY_VERSION_HEX as a uint32
	codeType    uint64 // PyCode_Type
	unicodeType uint64 // PyUnicode_Type
	bytesType   uint64 // PyBytes_Type
	funcType    uint64 // PyFunction_Type: 0 leaves modules unknown
	dictType    uint64 // PyDict_Type: 0 takes modules from func_module
}

// wanted maps symbol names to the field they fill.
func (s *symbols) wanted() map[string]*uint64 {
	return map[string]*uint64{
		"_PyRuntime":      &s.runtime,
		"Py_Version":      &s.version,
		"PyCode_Type":     &s.codeType,
		"PyUnicode_Type":  &s.unicodeType,
		"PyBytes_Type":    &s.bytesType,
		"PyFunction_Type": &s.funcType,
		"PyDict_Type":     &s.dictType,
	}
}

// elfImage is what Attach needs from a python binary.
type elfImage struct {
	syms  symbols
	loads []elf.ProgHeader // PT_LOAD segments
}

// openELF opens path as the target sees it: through /proc/PID/root, so a
// process in another mount namespace (a container) is read right, falling
// back to the path itself.
func openELF(pid int, path string) (*elf.File, error) {
	f, err := elf.Open("/proc/" + strconv.Itoa(pid) + "/root" + path)
	if err == nil {
		return f, nil
	}
	return elf.Open(path)
}

// readELFImage reads the symbols and load segments of path. _PyRuntime is
// in .dynsym of libpython for shared builds (the executable links it but
// does not export it); static builds may have it only in .symtab.
func readELFImage(pid int, path string) (*elfImage, error) {
	f, err := openELF(pid, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img := &elfImage{}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			img.loads = append(img.loads, p.ProgHeader)
		}
	}
	want := img.syms.wanted()
	fillSymbols(f.DynamicSymbols, want)
	if img.syms.runtime == 0 || img.syms.version == 0 {
		fillSymbols(f.Symbols, want)
	}
	return img, nil
}

// fillSymbols copies the values of wanted symbols that list returns and
// that are still unset.
func fillSymbols(list func() ([]elf.Symbol, error), want map[string]*uint64) {
	syms, err := list()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return
	}
	for _, s := range syms {
		if p, ok := want[s.Name]; ok && *p == 0 && s.Value != 0 {
			*p = s.Value
		}
	}
}

// loadBias is what to add to a link-time address of img to get the target's
// address, given the target's mappings of the file. A mapping of file offset
// off at start means the segment holding off was placed so that
// p_vaddr + (off - p_offset) lands on start.
func loadBias(img *elfImage, maps []mapping) (uint64, error) {
	for _, m := range maps {
		for _, p := range img.loads {
			if m.offset >= p.Off&^0xfff && m.offset < p.Off+p.Filesz {
				return uint64(m.start) - p.Vaddr + p.Off - m.offset, nil
			}
		}
	}
	return 0, fmt.Errorf("no mapping matches a load segment")
}
