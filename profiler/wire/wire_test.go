package wire

import (
	"bufio"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// headerConstants reads every #define of wire.h as NAME -> value, with the
// PYPROF_ prefix removed.
func headerConstants(t *testing.T) map[string]uint64 {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "agent", "c", "wire.h"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	define := regexp.MustCompile(`^#define PYPROF_(\w+) (0x[0-9A-Fa-f]+|\d+)(ULL)?\b`)
	out := map[string]uint64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		m := define.FindStringSubmatch(s.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[2], 0, 64)
		if err != nil {
			t.Fatalf("wire.h: %s: %v", m[1], err)
		}
		out[m[1]] = v
	}
	return out
}

// goName turns HDR_RING_BYTES into HdrRingBytes.
func goName(c string) string {
	var b strings.Builder
	for _, part := range strings.Split(c, "_") {
		b.WriteString(part[:1] + strings.ToLower(part[1:]))
	}
	return b.String()
}

// goConstants lists this package's constants by name; reflection cannot
// see constants, so the list is parsed from wire.go's source.
func goConstants(t *testing.T) map[string]uint64 {
	t.Helper()
	src, err := os.ReadFile("wire.go")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^\s+(\w+)\s+= (0x[0-9A-Fa-f]+|\d+)$`)
	out := map[string]uint64{}
	for _, m := range line.FindAllStringSubmatch(string(src), -1) {
		v, _ := strconv.ParseUint(m[2], 0, 64)
		out[m[1]] = v
	}
	return out
}

func TestConstantsMatchHeader(t *testing.T) {
	header := headerConstants(t)
	if len(header) < 50 {
		t.Fatalf("read only %d constants from wire.h", len(header))
	}
	want := map[string]uint64{}
	for name, v := range header {
		want[goName(name)] = v
	}
	if got := goConstants(t); !reflect.DeepEqual(got, want) {
		for name, v := range want {
			if g, ok := got[name]; !ok || g != v {
				t.Errorf("wire.h has %s = %#x; wire.go has %#x (present %v)", name, v, g, ok)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("wire.go has %s, which wire.h does not define", name)
			}
		}
	}
}

// TestHeaderCompiles makes sure the header the agent includes is valid C
// with the values this package expects, its layout macro included.
func TestHeaderCompiles(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "probe.c")
	prog := `#include "wire.h"
#include <stdio.h>
int main(void){printf("%llu %d %d",(unsigned long long)PYPROF_WIRE_MAGIC,PYPROF_SLOT_CTRL_SIZE,PYPROF_K_C_RAISE);
unsigned n[]={1,31,32,33,4096,65536};for(int i=0;i<6;i++)printf(" %llu",PYPROF_DATA_START(n[i]));printf("\n");return 0;}`
	if err := os.WriteFile(src, []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(filepath.Join("..", "agent", "c"))
	bin := filepath.Join(dir, "probe")
	if out, err := exec.Command(cc, "-Wall", "-Wextra", "-Werror", "-I", abs, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("compiling wire.h: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatUint(WireMagic, 10) + " " + strconv.Itoa(SlotCtrlSize) + " " + strconv.Itoa(KCRaise)
	for _, n := range []int{1, 31, 32, 33, 4096, 65536} {
		want += " " + strconv.FormatUint(DataStart(n), 10)
	}
	want += "\n"
	if string(out) != want {
		t.Fatalf("C sees %q, Go %q", out, want)
	}
}

// TestBootstrapConstants checks the few wire.h values bootstrap.py needs
// before any agent is loaded.
func TestBootstrapConstants(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "agent", "py", "bootstrap.py"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"_HDR_STATUS": HdrStatus, "_HDR_ERROR": HdrError, "_TOOL_TAKEN": StatusToolTaken,
		"_ERROR": StatusError, "_BAD_PROGRAM": StatusBadProgram, "_WRONG_PYTHON": StatusWrongPython}
	for name, v := range want {
		m := regexp.MustCompile(`(?m)^` + name + ` = (\d+)`).FindSubmatch(src)
		if m == nil {
			t.Errorf("bootstrap.py does not define %s", name)
			continue
		}
		if got, _ := strconv.ParseUint(string(m[1]), 10, 64); got != v {
			t.Errorf("bootstrap.py has %s = %d; wire.h says %d", name, got, v)
		}
	}
}

// TestWholeRecords checks the framing the ring uses to split a region that
// wraps: a hot record is one word, an extended one its header word and the
// padded payload.
func TestWholeRecords(t *testing.T) {
	hot := uint64(KPyStart) << KindShift
	ext := func(payload int) uint64 { return uint64(XCode)<<SubShift | uint64(payload)<<LenShift }
	buf := binary.LittleEndian.AppendUint64(nil, hot)
	buf = binary.LittleEndian.AppendUint64(buf, ext(13)) // 13 bytes: 2 words of payload
	buf = append(buf, make([]byte, 16)...)
	whole := len(buf)
	buf = binary.LittleEndian.AppendUint64(buf, ext(24)) // its payload is cut short
	buf = append(buf, make([]byte, 8)...)
	for _, c := range []struct{ n, want int }{{len(buf), whole}, {whole, whole}, {whole - 8, 8}, {4, 0}} {
		if got := WholeRecords(buf[:c.n]); got != c.want {
			t.Errorf("WholeRecords of %d bytes = %d, want %d", c.n, got, c.want)
		}
	}
	if RecordSize(hot) != 8 || RecordSize(ext(13)) != 24 || RecordSize(ext(0)) != 8 {
		t.Errorf("RecordSize: hot %d, ext(13) %d, ext(0) %d", RecordSize(hot), RecordSize(ext(13)), RecordSize(ext(0)))
	}
}
