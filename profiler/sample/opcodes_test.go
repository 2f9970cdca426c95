package sample

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// dumpBytecode runs testdata/sample/bytecode_dump.py under py and returns
// its output lines split into fields.
func dumpBytecode(t *testing.T, py python, args ...string) [][]string {
	t.Helper()
	cmd := exec.Command(py.path, append([]string{scriptPath(t, "bytecode_dump.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bytecode_dump.py %v: %v\n%s", args, err, stderr.Bytes())
	}
	var lines [][]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		lines = append(lines, strings.Fields(sc.Text()))
	}
	return lines
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// familiesOf returns the opcode families of 3.minor.
func familiesOf(t *testing.T, minor int) []opFamily {
	t.Helper()
	switch minor {
	case 12:
		return families312
	case 13:
		return families313
	case 14:
		return families314
	}
	t.Fatalf("no opcode families for 3.%d", minor)
	return nil
}

// pushingFamilies returns the names of the families of t that push frames.
func pushingFamilies(families []opFamily) map[string]bool {
	m := map[string]bool{}
	for _, f := range families {
		if f.pushes {
			m[f.name] = true
		}
	}
	return m
}

// TestOpcodeTables checks every opcode of each interpreter, as its dis and
// opcode modules describe them, against the sampler's table for that
// version: the inline caches of its family, whether the family pushes
// frames, and which opcodes cannot be sized from the bytecode alone.
func TestOpcodeTables(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		families := familiesOf(t, py.minor)
		tab := newOpcodeTable(py.minor == 12, nil, families)
		tab.unsized = opcodesFor(Version{Major: 3, Minor: py.minor}).unsized
		pushing := pushingFamilies(families)
		family := map[uint8]string{}
		for _, f := range families {
			for _, op := range f.ops {
				if prev, ok := family[op]; ok {
					t.Errorf("opcode %d in families %s and %s", op, prev, f.name)
				}
				family[op] = f.name
			}
		}
		var known [256]bool
		ops := dumpBytecode(t, py, "ops")
		jumpBackwardCaches := 0
		for _, l := range ops {
			if l[2] == "JUMP_BACKWARD" {
				jumpBackwardCaches = atoi(t, l[4])
			}
		}
		for _, l := range ops {
			op, name, base, caches := uint8(atoi(t, l[1])), l[2], l[3], atoi(t, l[4])
			known[op] = true
			if name == "ENTER_EXECUTOR" {
				// It replaces a JUMP_BACKWARD, whose cache stays.
				base, caches = "JUMP_BACKWARD", jumpBackwardCaches
			}
			unsized := name == "INSTRUMENTED_LINE" || name == "INSTRUMENTED_INSTRUCTION"
			if tab.unsized[op] != unsized {
				t.Errorf("%s (%d): unsized %v, want %v", name, op, tab.unsized[op], unsized)
			}
			if f, ok := family[op]; ok && f != base {
				t.Errorf("%s (%d) is listed in family %s, dis says %s", name, op, f, base)
			}
			if int(tab.caches[op]) != caches || tab.pushes[op] != pushing[base] {
				t.Errorf("%s (%d, family %s): caches %d, pushes %v; want %d, %v",
					name, op, base, tab.caches[op], tab.pushes[op], caches, pushing[base])
			}
		}
		for op := range 256 {
			if !known[op] && (tab.caches[op] != 0 || tab.pushes[op] || tab.unsized[op]) {
				t.Errorf("opcode %d is not one of Python %d.%d", op, py.major, py.minor)
			}
		}
	})
}

// TestFindCallSites decodes the specialised bytecode of every function of
// callsites.py, after its calls ran, and compares the call sites found with
// the instructions dis lists: a caller rests on the first unit of its call
// (3.13) or on the last, past the inline caches (3.12). Under
// sys.setprofile the calls are instrumented forms; under sys.settrace
// lines start with INSTRUMENTED_LINE, whose size is unknown, so from there
// on everything passes.
func TestFindCallSites(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		tab := opcodesFor(Version{Major: 3, Minor: py.minor})
		pushing := pushingFamilies(familiesOf(t, py.minor))
		for _, mode := range []string{"plain", "profile", "trace"} {
			t.Run(mode, func(t *testing.T) {
				lines := dumpBytecode(t, py, "code", mode)
				codes, instrumented := 0, 0
				for i := 0; i < len(lines); {
					name := lines[i][1]
					code, err := hex.DecodeString(lines[i][2])
					if err != nil {
						t.Fatal(err)
					}
					want, wantThroughC := map[int]bool{}, map[int]bool{}
					for i++; i < len(lines) && lines[i][0] == "instr"; i++ {
						unit, size, base := atoi(t, lines[i][1]), atoi(t, lines[i][2]), lines[i][3]
						if pushing[base] {
							wantThroughC[unit] = true
							if tab.callerAtLastUnit {
								unit += size - 1
							}
							want[unit] = true
							wantThroughC[unit] = true
						}
					}
					codes++
					cs := tab.findCallSites(code)
					if cs.from < len(code)/2 {
						instrumented++
					}
					var got, wantUnits, gotC, wantC []int
					for u := range cs.from {
						if cs.has(int64(u)) {
							got = append(got, u)
						}
						if want[u] {
							wantUnits = append(wantUnits, u)
						}
						if cs.callsThroughC(int64(u)) {
							gotC = append(gotC, u)
						}
						if wantThroughC[u] {
							wantC = append(wantC, u)
						}
					}
					if fmt.Sprint(got) != fmt.Sprint(wantUnits) {
						t.Errorf("%s: call sites %v, want %v (bytecode %x)", name, got, wantUnits, code)
					}
					if fmt.Sprint(gotC) != fmt.Sprint(wantC) {
						t.Errorf("%s: units that may call through C %v, want %v (bytecode %x)", name, gotC, wantC, code)
					}
				}
				if codes < 15 {
					t.Errorf("%d code objects dumped, want every function of callsites.py", codes)
				}
				// Under sys.settrace the code that ran is instrumented for
				// lines (the trace function itself is not traced).
				if traced := mode == "trace"; traced && instrumented < codes/2 || !traced && instrumented > 0 {
					t.Errorf("%d of %d code objects could not be decoded to the end", instrumented, codes)
				}
			})
		}
	})
}
