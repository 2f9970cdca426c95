package sample

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Process is a Python process attached for sampling. It holds caches and
// scratch buffers: use it from one goroutine at a time.
type Process struct {
	pid     int
	version Version
	lay     layout
	runtime Addr // &_PyRuntime
	// image is the file holding the runtime, and imageStart where its
	// first mapping began: an exec replaces every mapping, and the new
	// image's lie elsewhere (see execed).
	image      string
	imageStart Addr
	// stack is where the process's stack and its arguments lay when it
	// was attached (see replaced).
	stack        string
	freeThreaded bool
	mem          *memReader
	codes        *codeCache
	tasks        *TaskStates
	scratch      walkScratch
}

// PID returns the process id.
func (p *Process) PID() int { return p.pid }

// Version returns the target's Python version.
func (p *Process) Version() Version { return p.version }

// Reads returns the number of process_vm_readv calls made so far.
func (p *Process) Reads() int64 { return p.mem.calls.Load() }

// Close releases the files kept open to read thread states.
func (p *Process) Close() error {
	p.tasks.Close()
	return nil
}

// Attach finds the CPython runtime of process pid and prepares to sample
// it. It reads memory only (process_vm_readv): the target never stops.
// Errors: ErrProcessExited, ErrNotPython (nothing that looks like CPython
// is mapped, maybe not yet), *UnsupportedVersionError (older than 3.12, a
// free-threaded 3.14+, or a later version whose layout this build cannot
// read), *PermissionError.
func Attach(pid int) (*Process, error) {
	maps, err := readMaps(pid)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("attaching to pid %d: no such process (%w)", pid, ErrProcessExited)
	}
	if errors.Is(err, os.ErrPermission) {
		// /proc/PID/maps needs the same ptrace access as the memory.
		return nil, &PermissionError{PID: pid, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("attaching to pid %d: %w", pid, err)
	}
	if len(maps) == 0 && gone(pid) {
		return nil, fmt.Errorf("attaching to pid %d: it has exited, a zombie its parent has not reaped (%w)", pid, ErrProcessExited)
	}
	path, img, bias, err := findRuntime(pid, maps)
	if err != nil {
		return nil, err
	}
	p := &Process{pid: pid, mem: &memReader{pid: pid}, runtime: Addr(img.syms.runtime + bias),
		image: path, imageStart: firstMapping(maps, path)}
	if err := p.readVersion(img, bias, path); err != nil {
		return nil, err
	}
	if err := p.readLayout(); err != nil {
		return nil, err
	}
	if img.syms.codeType == 0 || img.syms.unicodeType == 0 || img.syms.bytesType == 0 {
		return nil, fmt.Errorf("attaching to pid %d: %s does not export PyCode_Type, PyUnicode_Type and PyBytes_Type", pid, path)
	}
	obj := &objectReader{mem: p.mem, lay: &p.lay,
		unicodeType: Addr(img.syms.unicodeType + bias), bytesType: Addr(img.syms.bytesType + bias)}
	p.codes = newCodeCache(&p.lay, opcodesFor(p.version), obj, Addr(img.syms.codeType+bias))
	if img.syms.funcType != 0 {
		p.codes.funcType = Addr(img.syms.funcType + bias)
	}
	if img.syms.dictType != 0 {
		p.codes.dictType = Addr(img.syms.dictType + bias)
	}
	p.tasks = NewTaskStates(pid)
	p.stack, _ = stackPlace(pid)
	return p, nil
}

// AttachWait calls Attach until it succeeds, the process exits or ctx is
// done. A process pyprof has just spawned has not exec'd python or mapped
// libpython yet, or not all of it; this is the call the CLI makes for it.
func AttachWait(ctx context.Context, pid int) (*Process, error) {
	for {
		p, err := Attach(pid)
		if err == nil || !notReadyYet(err) {
			return p, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// notReadyYet reports whether err is one a process that has just exec'd
// Python gives until its interpreter is mapped whole.
func notReadyYet(err error) bool {
	return errors.Is(err, ErrNotPython) || errors.Is(err, errNotLoadedYet)
}

// findRuntime finds the mapped file that defines _PyRuntime and its load
// bias.
func findRuntime(pid int, maps []mapping) (string, *elfImage, uint64, error) {
	cands := pythonCandidates(maps)
	for _, path := range cands {
		img, err := readELFImage(pid, path)
		if err != nil || img.syms.runtime == 0 {
			continue
		}
		bias, err := loadBias(img, mappingsOf(maps, path))
		if err != nil {
			return "", nil, 0, fmt.Errorf("attaching to pid %d: %s: %w", pid, path, err)
		}
		return path, img, bias, nil
	}
	if len(cands) > 0 {
		if v, ok := versionFromName(cands[0]); ok && !v.atLeast(3, 12) {
			return "", nil, 0, &UnsupportedVersionError{PID: pid, Version: v, Reason: tooOld}
		}
	}
	return "", nil, 0, fmt.Errorf("attaching to pid %d: %w (looked in %d python files)", pid, ErrNotPython, len(cands))
}

const tooOld = "sample mode needs CPython 3.12 or newer"

// readVersion reads Py_Version (PY_VERSION_HEX, exported since 3.11) and
// refuses versions older than 3.12; readLayout judges newer ones.
func (p *Process) readVersion(img *elfImage, bias uint64, path string) error {
	if img.syms.version == 0 {
		v, _ := versionFromName(path)
		return &UnsupportedVersionError{PID: p.pid, Version: v, Reason: tooOld}
	}
	var b [4]byte
	if err := p.mem.read(Addr(img.syms.version+bias), b[:]); err != nil {
		return fmt.Errorf("attaching to pid %d: reading Py_Version: %w", p.pid, err)
	}
	if endian.Uint32(b[:]) == 0 {
		// A constant no interpreter has: the loader is still mapping it.
		return fmt.Errorf("attaching to pid %d: Py_Version reads 0: %w", p.pid, errNotLoadedYet)
	}
	p.version = versionFromHex(endian.Uint32(b[:]))
	if !p.version.atLeast(3, 12) {
		return &UnsupportedVersionError{PID: p.pid, Version: p.version, Reason: tooOld}
	}
	return nil
}

// newestKnown is the newest minor version whose layout this build
// mirrors; later ones are read through its mirror when they fit it.
const newestKnown = 14

// readLayout picks the 3.12 table or reads the debug offsets of 3.13 or
// 3.14+.
func (p *Process) readLayout() error {
	switch {
	case p.version.Major == 3 && p.version.Minor == 12:
		return p.useLayout312()
	case p.version.Major == 3 && p.version.Minor == 13:
		return p.readLayout313()
	}
	return p.readLayout314()
}

// useLayout312 takes the built-in 3.12 table, once _PyRuntime shows it is
// not a later release's: 3.12 has no debug offsets, 3.13 and later start
// _PyRuntime with their cookie. A Py_Version that says 3.12 there (a
// patched or corrupt binary) would have the 3.12 offsets read another
// layout's memory.
func (p *Process) useLayout312() error {
	raw, err := p.readDebugOffsets(len(debugCookie))
	if err != nil {
		return err
	}
	if string(raw) == debugCookie {
		return fmt.Errorf("attaching to pid %d: Py_Version says %s, but its runtime carries the debug offsets of 3.13 or later: "+
			"the interpreter is not the version it says; sample an unmodified CPython", p.pid, p.version)
	}
	p.lay = layout312
	return nil
}

// readDebugOffsets reads the first n bytes of _PyRuntime.
func (p *Process) readDebugOffsets(n int) ([]byte, error) {
	raw := make([]byte, n)
	if err := p.mem.read(p.runtime, raw); err != nil {
		return nil, fmt.Errorf("attaching to pid %d: reading debug offsets: %w", p.pid, err)
	}
	return raw, nil
}

// checkDebugVersion checks that the debug offsets were written by the
// version Py_Version names.
func (p *Process) checkDebugVersion(hex uint64) error {
	if got := versionFromHex(uint32(hex)); got.Major != p.version.Major || got.Minor != p.version.Minor {
		return fmt.Errorf("attaching to pid %d: debug offsets are for %s, Py_Version says %s", p.pid, got, p.version)
	}
	return nil
}

func (p *Process) readLayout313() error {
	raw, err := p.readDebugOffsets(debugOffsets313Size)
	if err != nil {
		return err
	}
	d, err := parseDebugOffsets313(raw)
	if err != nil {
		return fmt.Errorf("attaching to pid %d: %w", p.pid, err)
	}
	if err := p.checkDebugVersion(d.Version); err != nil {
		return err
	}
	p.lay = d.layout()
	p.freeThreaded = d.FreeThreaded != 0
	return nil
}

// readLayout314 reads 3.14's debug offsets, or a later version's through
// the 3.14 mirror: that version is sampled when its table has the same
// cookie, names the version Py_Version does and passes check, and refused
// otherwise. Free-threaded builds are refused: from 3.14 on each thread
// runs its own copy of the bytecode (co_tlbc), which this build does not
// read.
func (p *Process) readLayout314() error {
	raw, err := p.readDebugOffsets(debugOffsets314Size)
	if err != nil {
		return err
	}
	return p.useDebugOffsets314(raw)
}

// useDebugOffsets314 takes the layout from raw, the start of _PyRuntime,
// or refuses the version (see readLayout314).
func (p *Process) useDebugOffsets314(raw []byte) error {
	d, err := parseDebugOffsets314(raw)
	if err == nil {
		err = p.checkDebugVersion(d.Version)
	}
	if err == nil {
		err = d.check()
	}
	if err != nil {
		if p.version.Major == 3 && p.version.Minor == newestKnown {
			return fmt.Errorf("attaching to pid %d: %w", p.pid, err)
		}
		return &UnsupportedVersionError{PID: p.pid, Version: p.version, Reason: fmt.Sprintf(
			"its layout does not fit that of 3.%d, the newest this pyprof build knows (%v); a newer pyprof may read it",
			newestKnown, err)}
	}
	if d.FreeThreaded != 0 {
		return &UnsupportedVersionError{PID: p.pid, Version: p.version, Reason: "a free-threaded build, " +
			"whose threads run copies of the bytecode this pyprof build does not read; sample a build with the GIL"}
	}
	p.lay = d.layout()
	return nil
}

var versionNameRe = regexp.MustCompile(`python(\d)\.(\d+)`)

// versionFromName guesses major.minor from a file name such as
// libpython3.11.so.1.0, for the error about an interpreter too old to
// export Py_Version.
func versionFromName(path string) (Version, bool) {
	m := versionNameRe.FindStringSubmatch(filepath.Base(strings.TrimSuffix(path, " (deleted)")))
	if m == nil {
		return Version{}, false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return Version{Major: major, Minor: minor}, true
}
