package sample

import (
	"os"
	"strings"
	"testing"
)

// TestStackPlace checks the exec fingerprint on this test's own process:
// five addresses, the same at every read while no exec happens, and an
// error for a process that is not there.
func TestStackPlace(t *testing.T) {
	a, err := stackPlace(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(a)
	if len(fields) != 5 || fields[0] == "0" {
		t.Fatalf("stack place %q: want five fields, the stack's start first and not 0", a)
	}
	if b, _ := stackPlace(os.Getpid()); b != a {
		t.Errorf("stack place changed with no exec: %q then %q", a, b)
	}
	p := &Process{pid: os.Getpid(), stack: a}
	if p.replaced() {
		t.Error("replaced() with no exec")
	}
	if p.stack = "1 2 3 4 5"; !p.replaced() {
		t.Error("replaced() false for a stack elsewhere")
	}
	if _, err := stackPlace(1 << 30); err == nil {
		t.Error("no error for a pid that is not there")
	}
}
