package agent

import (
	"os/exec"
	"strings"
	"testing"
)

// importedModules lists the modules `python -X importtime ARGS` reports
// importing.
func importedModules(t *testing.T, python string, args ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command(python, append([]string{"-X", "importtime"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", python, args, err, stderr.String())
	}
	out := map[string]bool{}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if fields := strings.Split(line, "|"); len(fields) == 3 && strings.HasPrefix(line, "import time:") {
			out[strings.TrimSpace(fields[2])] = true
		}
	}
	return out
}

// TestProbeImportsNothing: the probe costs no more than the interpreter's
// own start, which on a first run (nothing cached) is part of pyprof's:
// it imports no module that `python -I -S -c pass` does not.
func TestProbeImportsNothing(t *testing.T) {
	for _, i := range All() {
		t.Run(i.VersionString(), func(t *testing.T) {
			bare := importedModules(t, i.Executable, "-I", "-S", "-c", "pass")
			for m := range importedModules(t, i.Executable, "-I", "-S", "-c", probeScript) {
				if !bare[m] {
					t.Errorf("the probe imports %s", m)
				}
			}
			if _, err := probe(i.Executable); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestParseProbe reads the probe's fields and refuses incomplete output.
func TestParseProbe(t *testing.T) {
	full := "executable=/usr/bin/python3.13\x00version=3.13.0\x00free_threaded=1\x00monitoring=1\x00implementation=cpython\x00"
	for _, tc := range []struct {
		name string
		out  string
		ok   bool
		env  []string
	}{
		{"complete", full, true, nil},
		{"with the environment", full + "env=B=2\x00env=A=x=y\x00", true, []string{"A=x=y", "B=2"}},
		{"a field missing", strings.Replace(full, "monitoring=1\x00", "", 1), false, nil},
		{"a bad version", strings.Replace(full, "3.13.0", "3.13", 1), false, nil},
		{"nothing", "", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := parseProbe([]byte(tc.out))
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if f.executable != "/usr/bin/python3.13" || f.version != [3]int{3, 13, 0} || !f.freeThreaded || !f.monitoring || f.implementation != "cpython" {
				t.Errorf("facts %+v", f)
			}
			if strings.Join(f.environ, " ") != strings.Join(tc.env, " ") {
				t.Errorf("environment %v, want %v", f.environ, tc.env)
			}
		})
	}
}
