package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pyprof/pyprof/profiler/sample"
)

// notPythonError says that a process pyprof was asked to read runs no
// CPython at all, where the sampler says it found no runtime in the python
// files it looked in (none). It wraps the sampler's error, which sets the
// exit status.
type notPythonError struct {
	pid int
	exe string
	err error
}

func (e notPythonError) Error() string {
	return fmt.Sprintf("pid %d does not run CPython (it runs %s): give the pid of a Python 3.12+ process (`pgrep -a python` lists them)", e.pid, e.exe)
}

func (e notPythonError) Unwrap() error { return e.err }

// explainNotPython returns err, said plainly when it is that pid maps no
// file that looks like Python: neither its executable nor a library.
func explainNotPython(pid int, err error) error {
	if !errors.Is(err, sample.ErrNotPython) {
		return err
	}
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	exe, errExe := os.Readlink(filepath.Join(proc, "exe"))
	maps, errMaps := os.ReadFile(filepath.Join(proc, "maps"))
	if errExe != nil || errMaps != nil || mapsPython(string(maps)) {
		return err
	}
	return notPythonError{pid: pid, exe: exe, err: err}
}

// mapsPython reports whether a /proc/PID/maps text maps a file whose name
// says Python: python3.12, libpython3.12.so.1.0.
func mapsPython(maps string) bool {
	for _, line := range strings.Split(maps, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 6 && strings.Contains(filepath.Base(fields[5]), "python") {
			return true
		}
	}
	return false
}
