package agent_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestABIMatchesHeaders builds testdata/abi_probe.c once against pyabi.h
// and once against each interpreter's own Python.h, where it has one, and
// compares every size, offset and constant the two print. The agent checks
// the same fields on live objects when it loads (layout.c); this names the
// declaration that is off.
func TestABIMatchesHeaders(t *testing.T) {
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no C compiler here")
	}
	ours := runProbe(t, "-o", filepath.Join(t.TempDir(), "ours"))
	checked := 0
	for _, i := range allInterpreters(t) {
		t.Run(i.VersionString(), func(t *testing.T) {
			out, err := exec.Command(i.Path, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['include'])").Output()
			include := strings.TrimSpace(string(out))
			if _, statErr := os.Stat(filepath.Join(include, "Python.h")); err != nil || statErr != nil {
				t.Skipf("%s has no Python.h (the agent's load-time checks cover it)", i.Path)
			}
			theirs := runProbe(t, "-DWITH_PYTHON_H", "-I", include, "-o", filepath.Join(t.TempDir(), "theirs"))
			for k, line := range ours {
				if k >= len(theirs) || theirs[k] != line {
					t.Errorf("pyabi.h says %q, Python.h of %s says %q", line, i.VersionString(), at(theirs, k))
				}
			}
			checked++
		})
	}
	if checked == 0 {
		t.Log("no interpreter here has its headers: nothing compared")
	}
}

// runProbe compiles abi_probe.c with args and returns what it prints.
func runProbe(t *testing.T, args ...string) []string {
	t.Helper()
	bin := args[len(args)-1]
	cmd := exec.Command("cc", append(args, filepath.Join("testdata", "abi_probe.c"))...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func at(lines []string, k int) string {
	if k < len(lines) {
		return lines[k]
	}
	return "nothing"
}
