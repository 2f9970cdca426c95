package testpython

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProvide314 checks that after Provide314 a python3.14 on PATH runs and
// is 3.14, and that python3 still means what it meant before.
func TestProvide314(t *testing.T) {
	python3Before, _ := exec.LookPath("python3")
	path, err := Provide314()
	if err != nil {
		t.Skipf("no CPython 3.14: %v", err)
	}
	onPath, err := exec.LookPath("python3.14")
	if err != nil {
		t.Fatalf("python3.14 not on PATH after Provide314 returned %s: %v", path, err)
	}
	out, err := exec.Command(onPath, "-c", "import sys; print(*sys.version_info[:2])").Output()
	if err != nil {
		t.Fatalf("%s: %v", onPath, err)
	}
	if got := strings.TrimSpace(string(out)); got != "3 14" {
		t.Errorf("%s says it is %q, want 3 14", onPath, got)
	}
	if python3After, _ := exec.LookPath("python3"); python3After != python3Before {
		t.Errorf("python3 is %s now, was %s", python3After, python3Before)
	}
	if again, err := Provide314(); again != path || err != nil {
		t.Errorf("second call: %s, %v; want %s", again, err, path)
	}
}

func TestLastLine(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"one line", "/a/bin/python3.14\n", "/a/bin/python3.14"},
		{"after go's own output", "go: downloading x\n/a/bin/python3.14\n", "/a/bin/python3.14"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := lastLine(tt.in); got != tt.want {
			t.Errorf("%s: lastLine = %q, want %q", tt.name, got, tt.want)
		}
	}
}
