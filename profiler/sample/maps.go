package sample

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// mapping is one line of /proc/PID/maps that maps a file.
type mapping struct {
	start, end Addr
	offset     uint64
	path       string
}

// readMaps lists the file mappings of pid.
func readMaps(pid int) ([]mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMaps(f)
}

// parseMaps parses the text of /proc/PID/maps, keeping mappings of files.
// Lines look like "7f1c2a000000-7f1c2a100000 r-xp 00001000 08:01 1234  /usr/lib/x.so".
func parseMaps(r io.Reader) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m, ok := parseMapsLine(sc.Text())
		if ok {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}

func parseMapsLine(line string) (mapping, bool) {
	fields := strings.Fields(line)
	if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
		return mapping{}, false
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	off, err3 := strconv.ParseUint(fields[2], 16, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return mapping{}, false
	}
	// The path is the rest of the line: it may hold spaces.
	path := strings.Join(fields[5:], " ")
	return mapping{start: Addr(start), end: Addr(end), offset: off, path: path}, true
}

var (
	libpythonRe = regexp.MustCompile(`^libpython3\.\d+[a-z]*\.so`)
	pythonExeRe = regexp.MustCompile(`^python3(\.\d+)?[a-z]*$`)
)

// pythonCandidates returns the mapped files that may hold _PyRuntime, in the
// order to try them: libpython first (shared builds export _PyRuntime there,
// not in the executable that links it), then the python executable (static
// builds).
func pythonCandidates(maps []mapping) []string {
	var libs, exes []string
	seen := map[string]bool{}
	for _, m := range maps {
		if seen[m.path] {
			continue
		}
		seen[m.path] = true
		base := filepath.Base(strings.TrimSuffix(m.path, " (deleted)"))
		switch {
		case libpythonRe.MatchString(base):
			libs = append(libs, m.path)
		case pythonExeRe.MatchString(base):
			exes = append(exes, m.path)
		}
	}
	return append(libs, exes...)
}

// mappingsOf returns the mappings of path, lowest address first (the kernel
// lists them in address order).
func mappingsOf(maps []mapping, path string) []mapping {
	var out []mapping
	for _, m := range maps {
		if m.path == path {
			out = append(out, m)
		}
	}
	return out
}

// firstMapping returns where the first mapping of path starts, 0 when
// path is not mapped.
func firstMapping(maps []mapping, path string) Addr {
	for _, m := range maps {
		if m.path == path {
			return m.start
		}
	}
	return 0
}
