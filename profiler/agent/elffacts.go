package agent

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// What an interpreter is can be read from its file, without starting it:
// running the probe costs a whole interpreter start, which on a first use
// (nothing cached) was a third of pyprof's start-up.
//
// CPython 3.11 and later export Py_Version, PY_VERSION_HEX as a 32-bit
// constant, from the executable (static builds) or from the libpython it
// links (shared builds). From 3.13 on, the static image of _PyRuntime
// starts with _Py_DebugOffsets, whose third 64-bit word says whether the
// build is free-threaded; 3.12 has no free-threaded build. What this
// reads is checked again where it matters: the bootstrap refuses to run
// when the interpreter is another version than pyprof was told, and the
// C agent checks version and GIL when it loads.

// errNoFacts says the file does not tell: not an ELF CPython, a libpython
// not found, a layout not known. The caller runs the probe instead.
var errNoFacts = errors.New("interpreter file does not say what it is")

// factsFromFile reads what path (an executable, symlinks followed) is.
// The file is anything the user named, so a malformed one must make it
// say nothing rather than fail: debug/elf can panic on some.
func factsFromFile(path string) (i *Interpreter, err error) {
	defer func() {
		if recover() != nil {
			i, err = nil, errNoFacts
		}
	}()
	real, err := exec.LookPath(path)
	if err != nil {
		return nil, err
	}
	exe, err := elf.Open(real)
	if err != nil {
		return nil, errNoFacts
	}
	defer exe.Close()
	// CPython's own executable starts the interpreter with Py_BytesMain;
	// a program that embeds libpython (gdb, an application) does not,
	// and must not be taken for an interpreter.
	if _, ok := scanSymbols(exe, elf.SHT_DYNSYM, "Py_BytesMain", true); !ok {
		if _, ok := scanSymbols(exe, elf.SHT_SYMTAB, "Py_BytesMain", true); !ok {
			return nil, errNoFacts
		}
	}
	img, err := pythonImage(exe, real)
	if err != nil {
		return nil, err
	}
	if img != exe {
		defer img.Close()
	}
	hex, err := readSymbol(img, "Py_Version", 4)
	if err != nil {
		return nil, err
	}
	v := img.ByteOrder.Uint32(hex)
	if v>>24 != 3 {
		return nil, errNoFacts
	}
	i = &Interpreter{
		Path: path, Executable: absolute(path),
		Version:        [3]int{int(v >> 24), int(v >> 16 & 0xff), int(v >> 8 & 0xff)},
		Implementation: "cpython", FromFile: true,
	}
	i.HasMonitoring = i.Version[0] > 3 || i.Version[0] == 3 && i.Version[1] >= 12
	if i.Version[0] == 3 && i.Version[1] >= 13 || i.Version[0] > 3 {
		if i.FreeThreaded, err = freeThreaded(img, v); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// IsInterpreterFile reports whether path (a name on PATH, or a path) is
// the executable of a CPython, as its file says.
func IsInterpreterFile(path string) bool {
	_, err := factsFromFile(path)
	return err == nil
}

// absolute is path made absolute, as sys.executable would be.
func absolute(path string) string {
	if p, err := exec.LookPath(path); err == nil {
		path = p
	}
	if p, err := filepath.Abs(path); err == nil {
		return p
	}
	return path
}

// pythonImage returns the file that defines the interpreter: exe itself
// when it exports Py_Version, else the libpython it links.
func pythonImage(exe *elf.File, exePath string) (*elf.File, error) {
	if _, err := findSymbol(exe, "Py_Version"); err == nil {
		return exe, nil
	}
	// The loader's search (LD_LIBRARY_PATH's separators and empty
	// entries, its cache, hardware capabilities) is not repeated here:
	// where the environment steers it, the probe asks the interpreter.
	if _, set := os.LookupEnv("LD_LIBRARY_PATH"); set {
		return nil, errNoFacts
	}
	needed, err := exe.ImportedLibraries()
	if err != nil {
		return nil, errNoFacts
	}
	for _, lib := range needed {
		if !strings.HasPrefix(lib, "libpython3") {
			continue
		}
		for _, dir := range librarySearchPath(exe, exePath) {
			f, err := elf.Open(filepath.Join(dir, lib))
			if err != nil {
				continue
			}
			// The loader passes over a library built for another machine.
			if f.Machine == exe.Machine && f.Class == exe.Class {
				return f, nil
			}
			f.Close()
		}
	}
	return nil, errNoFacts
}

// librarySearchPath is where the dynamic loader would look for exe's
// libraries, in its order, with LD_LIBRARY_PATH unset: DT_RPATH (when
// there is no DT_RUNPATH), DT_RUNPATH, then the usual system folders. The
// loader's cache (/etc/ld.so.cache) is not read: a libpython found
// nowhere here makes the caller run the probe.
func librarySearchPath(exe *elf.File, exePath string) []string {
	origin := filepath.Dir(exePath)
	if real, err := filepath.EvalSymlinks(exePath); err == nil {
		origin = filepath.Dir(real)
	}
	expand := func(list []string) []string {
		var out []string
		for _, l := range list {
			for _, d := range strings.Split(l, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
				if d != "" {
					out = append(out, d)
				}
			}
		}
		return out
	}
	rpath, _ := exe.DynString(elf.DT_RPATH)
	runpath, _ := exe.DynString(elf.DT_RUNPATH)
	var dirs []string
	if len(runpath) == 0 {
		dirs = append(dirs, expand(rpath)...)
	}
	dirs = append(dirs, expand(runpath)...)
	return append(dirs, "/lib", "/usr/lib", "/usr/local/lib",
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
		"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
}

// findSymbol looks name up among f's dynamic symbols, then its full
// table. It reads the tables raw, not through elf.File's Symbols, which
// makes a string of every name: a libpython exports some thousands, and
// that took most of the few milliseconds this is meant to save.
func findSymbol(f *elf.File, name string) (elf.Symbol, error) {
	if f.Class != elf.ELFCLASS64 {
		return elf.Symbol{}, errNoFacts
	}
	for _, kind := range []elf.SectionType{elf.SHT_DYNSYM, elf.SHT_SYMTAB} {
		if s, ok := scanSymbols(f, kind, name, false); ok {
			return s, nil
		}
	}
	return elf.Symbol{}, errNoFacts
}

// scanSymbols finds name in f's symbol table of the given kind, among
// the symbols f defines, or also those it imports when imported is set.
func scanSymbols(f *elf.File, kind elf.SectionType, name string, imported bool) (elf.Symbol, bool) {
	sec := f.SectionByType(kind)
	if sec == nil || int(sec.Link) >= len(f.Sections) {
		return elf.Symbol{}, false
	}
	table, err := sec.Data()
	if err != nil {
		return elf.Symbol{}, false
	}
	strs, err := f.Sections[sec.Link].Data()
	if err != nil {
		return elf.Symbol{}, false
	}
	want := append([]byte(name), 0)
	for off := 0; off+elf.Sym64Size <= len(table); off += elf.Sym64Size {
		e := table[off : off+elf.Sym64Size]
		at := int(f.ByteOrder.Uint32(e[0:4]))
		shndx := elf.SectionIndex(f.ByteOrder.Uint16(e[6:8]))
		if at >= len(strs) || shndx == elf.SHN_UNDEF && !imported || !bytes.HasPrefix(strs[at:], want) {
			continue
		}
		return elf.Symbol{Name: name, Section: shndx,
			Value: f.ByteOrder.Uint64(e[8:16]), Size: f.ByteOrder.Uint64(e[16:24])}, true
	}
	return elf.Symbol{}, false
}

// readSymbol reads the first n bytes of symbol name's initial value, as
// the file holds it.
func readSymbol(f *elf.File, name string, n int) ([]byte, error) {
	s, err := findSymbol(f, name)
	if err != nil {
		return nil, err
	}
	for _, sec := range f.Sections {
		// Only a section the loader maps holds the value at its address (a
		// debug section's addresses start at 0), and a compressed one has
		// no plain bytes to read at an offset.
		if sec.Type != elf.SHT_PROGBITS || sec.Flags&elf.SHF_ALLOC == 0 || sec.Flags&elf.SHF_COMPRESSED != 0 ||
			s.Value < sec.Addr || s.Value+uint64(n) > sec.Addr+sec.Size {
			continue
		}
		buf := make([]byte, n)
		if _, err := sec.ReadAt(buf, int64(s.Value-sec.Addr)); err != nil {
			return nil, errNoFacts
		}
		return buf, nil
	}
	return nil, errNoFacts
}

// debugCookie starts _Py_DebugOffsets, the first field of _PyRuntime.
const debugCookie = "xdebugpy"

// freeThreaded reads the free_threaded word of _PyRuntime's debug
// offsets, after their cookie and a version word that must be hex's.
func freeThreaded(f *elf.File, hex uint32) (bool, error) {
	raw, err := readSymbol(f, "_PyRuntime", 24)
	if err != nil || !bytes.Equal(raw[:8], []byte(debugCookie)) || f.ByteOrder.Uint64(raw[8:]) != uint64(hex) {
		return false, errNoFacts
	}
	return f.ByteOrder.Uint64(raw[16:]) != 0, nil
}
