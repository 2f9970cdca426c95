package profiler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// A look at the program before anything starts.

// checkTarget catches a missing script before anything starts, so the
// program never runs for nothing.
func checkTarget(t Target) error {
	if t.Kind != Script {
		return nil
	}
	f, err := os.Open(t.Name)
	if err != nil {
		return fmt.Errorf("cannot open script %s: %w", t.Name, errors.Unwrap(err))
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return nil // a folder with __main__.py, as python runs it
	}
	head := make([]byte, 4096)
	n, _ := f.Read(head)
	if isBinary(head[:n]) {
		return fmt.Errorf("%s is not a Python script: pyprof runs Python 3.12+ programs, as in pyprof record -- python3.12 script.py", t.Name)
	}
	return nil
}

// isBinary tells an executable or data file from source code: source has
// no NUL bytes. Zip archives (runnable by python) are let through.
func isBinary(head []byte) bool {
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return false
	}
	return bytes.IndexByte(head, 0) >= 0
}
