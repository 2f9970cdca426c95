package sample

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// pythonOf returns the interpreter of 3.minor found here; the test skips,
// saying why, when there is none.
func pythonOf(t *testing.T, minor int) python {
	t.Helper()
	for _, p := range findPythons() {
		if p.major == 3 && p.minor == minor {
			return p
		}
	}
	if minor == 14 && no314 != nil {
		t.Skip(no314)
	}
	t.Skipf("python3.%d not found", minor)
	return python{}
}

// TestDebugOffsets314 reads the debug offsets of a live 3.14 through the
// mirror and compares what they record with what the interpreter says of
// itself: its version, and the sizes of the types whose structs they
// describe (tp_basicsize, tp_itemsize); and checks that the table ends
// where the mirror does, at _PyRuntime's _initialized flag. A mirror off by
// a field reads one section's values as another's and fails here even
// where the walker does not use them.
func TestDebugOffsets314(t *testing.T) {
	py := pythonOf(t, 14)
	tg, rep := startSelfReport(t, py)
	p := attach(t, tg)
	raw, err := p.readDebugOffsets(debugOffsets314Size + 4)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDebugOffsets314(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.check(); err != nil {
		t.Errorf("check: %v", err)
	}
	size := func(typ string) uint64 { return rep.Sizes[typ][0] }
	item := func(typ string) uint64 { return rep.Sizes[typ][1] }
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"version", d.Version, rep.HexVersion},
		{"free_threaded", d.FreeThreaded, 0},
		{"sizeof(PyObject)", d.Object.Size, size("object")},
		{"sizeof(PyTupleObject), one item included", d.Tuple.Size, size("tuple") + item("tuple")},
		{"sizeof(PyListObject)", d.List.Size, size("list")},
		{"sizeof(PySetObject)", d.Set.Size, size("set")},
		{"sizeof(PyDictObject)", d.Dict.Size, size("dict")},
		{"sizeof(PyFloatObject)", d.Float.Size, size("float")},
		{"ob_digit of an int", d.Long.ObDigit, size("int")},
		{"ob_sval of bytes, plus its trailing null", d.Bytes.ObSval + 1, size("bytes")},
		{"sizeof(PyUnicodeObject)", d.Unicode.Size, size("str")},
		{"co_code_adaptive", d.Code.CodeAdaptive, size("code")},
		{"gi_iframe plus the frame's localsplus", d.Gen.GiIframe + d.Frame.Localsplus, size("generator")},
		// Py_MAX_SCRIPT_PATH_SIZE, the table's last field.
		{"debugger_script_path_size", d.Debugger.DebuggerScriptPathSize, 512},
		{"_PyRuntime._initialized, after the table", uint64(u32(raw, uint64(debugOffsets314Size))), 1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, the interpreter says %d", tt.name, tt.got, tt.want)
		}
	}
}

// offsets3146 is _Py_DebugOffsets as CPython 3.14.6 with the GIL has it on
// x86-64, word by word after the cookie (read from the build the tests
// extract).
var offsets3146 = []uint64{
	0x030e06f0, 0, // version, free_threaded
	316616, 784, 808, // runtime_state
	225864, 7280, 7272, 7344, 7360, 7408, 7688, 7672, 7680, 16, 7784, 0, 7800, 7792, 7992, 0, // interpreter_state
	832, 0, 8, 16, 72, 152, 160, 232, 32, // thread_state
	88, 8, 0, 56, 80, 74, 64, 0, // interpreter_frame
	216, 112, 120, 128, 136, 68, 52, 96, 104, 208, 0, // code_object
	16, 8, // pyobject
	416, 24, 88, 168, // type_object
	40, 32, 16, // tuple
	40, 24, 16, // list
	200, 24, 40, 32, // set
	48, 32, 40, // dict
	24, 16, // float
	32, 16, 24, // long
	40, 16, 32, // bytes
	64, 32, 16, 40, // unicode
	264, 192, // gc
	160, 24, 72, 67, // gen_object
	0, 8, // llist_node
	24, 304, 8076, 0, 4, 512, // debugger_support
}

// Word indexes into offsets3146 (after the cookie) used by the cases.
const (
	wordVersion      = 0
	wordFreeThreaded = 1
	wordFrameSection = 30 // interpreter_frame.size, after thread_state
)

// encodeOffsets lays out words after the cookie as _PyRuntime starts.
func encodeOffsets(cookie string, words []uint64) []byte {
	raw := []byte(cookie)
	for _, w := range words {
		raw = binary.NativeEndian.AppendUint64(raw, w)
	}
	return raw
}

// TestLaterVersions feeds the 3.14 mirror the table of a version after
// 3.14: one that kept 3.14's layout is read, one whose table moved, a
// free-threaded build or another cookie is refused in one line that names
// the version; the same faults in 3.14 itself are errors.
func TestLaterVersions(t *testing.T) {
	with := func(i int, v uint64) func([]uint64) []uint64 {
		return func(w []uint64) []uint64 { w[i] = v; return w }
	}
	insert := func(i int, v uint64) func([]uint64) []uint64 {
		return func(w []uint64) []uint64 { return slices.Insert(w, i, v) }
	}
	tests := []struct {
		name    string
		version uint32 // Py_Version
		cookie  string
		edit    func([]uint64) []uint64
		want    string // "" read, "refused" UnsupportedVersionError, "error" another error
	}{
		{"3.14.6 itself", 0x030e06f0, debugCookie, nil, ""},
		{"3.15 laid out as 3.14", 0x030f00a1, debugCookie, with(wordVersion, 0x030f00a1), ""},
		{"3.15 with a field added to the thread state", 0x030f00a1, debugCookie,
			func(w []uint64) []uint64 { return insert(wordFrameSection, 100)(with(wordVersion, 0x030f00a1)(w)) }, "refused"},
		{"3.15 with a field added to the runtime state", 0x030f00a1, debugCookie,
			func(w []uint64) []uint64 { return insert(5, 7300)(with(wordVersion, 0x030f00a1)(w)) }, "refused"},
		{"3.15 with another cookie", 0x030f00a1, "xdebugp2", with(wordVersion, 0x030f00a1), "refused"},
		{"3.15 whose table says 3.16", 0x030f00a1, debugCookie, with(wordVersion, 0x031000a1), "refused"},
		{"3.14 free-threaded", 0x030e06f0, debugCookie, with(wordFreeThreaded, 1), "refused"},
		{"3.14 with another cookie", 0x030e06f0, "xdebugp2", nil, "error"},
		{"3.14 with a field added", 0x030e06f0, debugCookie, insert(wordFrameSection, 100), "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words := slices.Clone(offsets3146)
			if tt.edit != nil {
				words = tt.edit(words)
			}
			p := &Process{pid: 4242, version: versionFromHex(tt.version)}
			err := p.useDebugOffsets314(encodeOffsets(tt.cookie, words))
			var uv *UnsupportedVersionError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "":
				if !p.lay.stackPointer || p.lay.coCode != 208 || p.lay.frOwner != 74 {
					t.Errorf("layout %+v is not the one the table gives", p.lay)
				}
			case tt.want == "refused" && !errors.As(err, &uv):
				t.Fatalf("err %v, want an UnsupportedVersionError", err)
			case tt.want == "refused":
				if msg := err.Error(); !strings.Contains(msg, p.version.String()) || strings.Contains(msg, "\n") {
					t.Errorf("%q is not one line that names %s", msg, p.version)
				}
			case tt.want == "error" && (err == nil || errors.As(err, &uv)):
				t.Errorf("err %v, want an error that does not blame the version", err)
			}
		})
	}
}

// TestLayout312NotALaterRuntime: a Py_Version saying 3.12 is taken only
// when _PyRuntime does not start with the debug offsets of 3.13 and later;
// the runtime is read here from this process's own memory.
func TestLayout312NotALaterRuntime(t *testing.T) {
	tests := []struct {
		name    string
		runtime string
		want    bool
	}{
		{"a 3.12 runtime", "\x01\x00\x00\x00\x00\x00\x00\x00", true},
		{"a later runtime", debugCookie, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime := []byte(tt.runtime)
			heapSink = [][]byte{runtime}
			p := &Process{pid: os.Getpid(), version: versionFromHex(0x030c01f0),
				mem: &memReader{pid: os.Getpid()}, runtime: addrOf(runtime)}
			err := p.readLayout()
			if tt.want && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.want && (err == nil || !strings.Contains(err.Error(), "not the version it says") || strings.Contains(err.Error(), "\n")) {
				t.Fatalf("err %v, want one line saying the version is not what it says", err)
			}
			if tt.want && p.lay.frOwner != layout312.frOwner {
				t.Errorf("layout %+v is not 3.12's", p.lay)
			}
		})
	}
}

// TestRuntimeNotLoadedYet: a runtime whose debug offsets read as zeros is
// one the dynamic loader has not finished mapping, in a process that has
// just exec'd Python: attaching to it waits and tries again, where a
// cookie of other bytes is not CPython's and is refused at once.
func TestRuntimeNotLoadedYet(t *testing.T) {
	raw := make([]byte, debugOffsets313Size)
	err := decodeDebugOffsets(raw, &debugOffsets313{})
	if !errors.Is(err, errNotLoadedYet) || !notReadyYet(err) {
		t.Errorf("zeros: %v; want the runtime not loaded yet, which AttachWait waits out", err)
	}
	copy(raw, "notpyth!")
	err = decodeDebugOffsets(raw, &debugOffsets313{})
	if err == nil || errors.Is(err, errNotLoadedYet) || notReadyYet(err) {
		t.Errorf("another cookie: %v; want an error AttachWait returns at once", err)
	}
	if !notReadyYet(ErrNotPython) {
		t.Error("no runtime mapped yet: AttachWait must wait for it")
	}
	// Py_Version, read from this process, as zeros and as 3.13.0.
	versions := []uint32{0, 0x030d00f0}
	img := &elfImage{}
	p := &Process{pid: os.Getpid(), mem: &memReader{pid: os.Getpid()}}
	img.syms.version = uint64(uintptr(unsafe.Pointer(&versions[0])))
	if err := p.readVersion(img, 0, "python"); !notReadyYet(err) {
		t.Errorf("Py_Version of zeros: %v; want the runtime not loaded yet", err)
	}
	img.syms.version = uint64(uintptr(unsafe.Pointer(&versions[1])))
	if err := p.readVersion(img, 0, "python"); err != nil || p.version.Minor != 13 {
		t.Errorf("Py_Version 3.13.0: %v, version %v", err, p.version)
	}
	runtime.KeepAlive(versions)
}
