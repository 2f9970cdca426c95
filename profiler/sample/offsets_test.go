package sample

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// probeOffsets compiles testdata/offsets_probe.c against py's installed
// headers and returns what it prints. It skips the test when gcc or the
// headers are missing.
func probeOffsets(t *testing.T, py python) map[string]uint64 {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not found")
	}
	inc := filepath.Join(filepath.Dir(filepath.Dir(py.path)), "include", fmt.Sprintf("python3.%d", py.minor))
	if _, err := os.Stat(filepath.Join(inc, "internal", "pycore_frame.h")); err != nil {
		t.Skipf("internal headers of %s not installed: %v", py.path, err)
	}
	bin := filepath.Join(t.TempDir(), "probe")
	cmd := exec.Command(gcc, "-I"+inc, "-I"+filepath.Join(inc, "internal"), "-o", bin, "testdata/offsets_probe.c")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling the probe: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("running the probe: %v", err)
	}
	vals := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, v, _ := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("probe line %q: %v", sc.Text(), err)
		}
		vals[name] = n
	}
	return vals
}

// TestLayoutMatchesHeaders checks, for each installed interpreter, every
// offset the sampler uses (the built-in table for 3.12, the debug offsets
// read from a live 3.13 process plus what is derived from them) against
// offsetof() computed by gcc from that interpreter's own headers.
func TestLayoutMatchesHeaders(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		probe := probeOffsets(t, py)
		p := attach(t, startTarget(t, py, "sleeping.py"))
		lv := reflect.ValueOf(p.lay)
		for i := range lv.NumField() {
			name := lv.Type().Field(i).Name
			want, ok := probe[name]
			if !ok {
				t.Errorf("probe does not print %s", name)
				continue
			}
			var got uint64
			if f := lv.Field(i); f.Kind() == reflect.Bool {
				if f.Bool() {
					got = 1
				}
			} else {
				got = f.Uint()
			}
			if got != want {
				t.Errorf("%s = %d, headers say %d", name, got, want)
			}
		}
		checkConstants(t, probe)
		mirror := map[int]int{13: debugOffsets313Size, 14: debugOffsets314Size}[py.minor]
		if size, ok := probe["debugOffsetsSize"]; ok && size != uint64(mirror) {
			t.Errorf("the mirror of 3.%d's debug offsets is %d bytes, _Py_DebugOffsets %d", py.minor, mirror, size)
		}
	})
}

// checkConstants compares the layout constants that are the same in every
// supported version.
func checkConstants(t *testing.T, probe map[string]uint64) {
	t.Helper()
	consts := map[string]uint64{
		"chunk.previous": chunkPrevious, "chunk.size": chunkSize, "chunk.top": chunkTop, "chunk.data": chunkData,
		"owner.thread": ownedByThread, "owner.generator": ownedByGenerator,
		"owner.frame_object": ownedByFrameObject, "owner.cstack": ownedByCStack,
		"state.kind":    stateKindMask << stateKindShift,
		"state.compact": stateCompact, "state.ascii": stateASCII,
		"str.hash":  strHashAfterLength + 16, // length is at 16 in every version
		"dict.used": 0, "dict.keys": dictKeysAfterHeader, "dict.values": dictValuesAfterHeader,
		"keys.log2_size": keysLog2Size, "keys.log2_index_bytes": keysLog2IndexBytes, "keys.kind": keysKind,
		"keys.nentries": keysNentries, "keys.indices": keysIndices,
		"keys.general": keysKindGeneral, "keys.unicode": keysKindUnicode,
		"entry.size": generalEntrySize, "entry.unicode_size": unicodeEntrySize,
	}
	for name, got := range consts {
		if want := probe[name]; got != want {
			t.Errorf("%s = %#x, headers say %#x", name, got, want)
		}
	}
}
