package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/profiler/agent"
)

// identicalPairs is how many times TestCIRecipe runs the recipe on two
// checkouts of the same code; it must never fail.
const identicalPairs = 20

// TestCIRecipe runs the commands of README's "In CI" section, as written
// there, on a small benchmark: on two identical checkouts it must pass
// every time, and on a planted regression fail and name the function that
// was changed before any other.
func TestCIRecipe(t *testing.T) {
	recipe := readmeRecipe(t)
	bench, err := os.ReadFile("testdata/cirecipe/bench.py")
	if err != nil {
		t.Fatal(err)
	}
	pathDir := recipeTools(t)
	t.Run("identical code passes", func(t *testing.T) {
		for i := range identicalPairs {
			code, stderr := runRecipe(t, recipe, pathDir, string(bench), string(bench))
			if code != 0 {
				t.Fatalf("pair %d of identical code failed the gate (status %d):\n%s", i+1, code, stderr)
			}
		}
	})
	plants := []struct {
		name, old, planted string
		wantFirst          string // the function the first regression names
	}{
		{
			// The checksum reads the page twice: the same result for twice
			// the work, which its callee's calls per call of it show.
			"a function made to do more work",
			"    for ch in page:\n",
			"    for ch in page + page:\n",
			"checksum",
		},
		{
			// render escapes each row twice, once to check it: the page is
			// the same, so only render's calls of escape change.
			"a function made to make more calls",
			`        out.append("<td>" + escape(r) + "</td>")`,
			`        if escape(r):
            out.append("<td>" + escape(r) + "</td>")`,
			"render",
		},
	}
	for _, p := range plants {
		t.Run(p.name, func(t *testing.T) {
			if !strings.Contains(string(bench), p.old) {
				t.Fatalf("bench.py lacks the line to change: %q", p.old)
			}
			changed := strings.Replace(string(bench), p.old, p.planted, 1)
			for range 2 {
				code, stderr := runRecipe(t, recipe, pathDir, string(bench), changed)
				if code != 1 {
					t.Fatalf("status %d, want 1 (a regression):\n%s", code, stderr)
				}
				first := firstRegression(stderr)
				if !regexp.MustCompile(`^\S*\b` + p.wantFirst + ` `).MatchString(first) {
					t.Fatalf("the first regression named is %q, want %s:\n%s", first, p.wantFirst, stderr)
				}
			}
		})
	}
}

// readmeRecipe returns the shell block of README's "In CI" section.
func readmeRecipe(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### In CI\n")
	if !ok {
		t.Fatal(`README.md has no "In CI" section`)
	}
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(section)
	if m == nil || strings.Index(section, m[0]) > strings.Index(section, "\n#") && strings.Contains(section, "\n#") {
		t.Fatal(`README.md's "In CI" section has no sh block`)
	}
	return m[1]
}

// recipeTools returns a directory holding the commands the recipe runs:
// pyprof, built without the race detector (the test binary under -race
// took 2 s a recording instead of 0.35 s, for 200 recordings), and
// python3.12, standing for a Python 3.12 or the newest Python 3.12+ found.
func recipeTools(t *testing.T) string {
	t.Helper()
	pythons := agent.All()
	if len(pythons) == 0 {
		t.Fatal("no Python 3.12+ found: the recipe would prove nothing")
	}
	python := pythons[0]
	for _, p := range pythons {
		if p.Version[0] == 3 && p.Version[1] == 12 {
			python = p
		}
	}
	dir := t.TempDir()
	if err := os.Symlink(python.Executable, filepath.Join(dir, "python3.12")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "pyprof"), ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// runRecipe runs the recipe in a checkout of newCode beside one of
// baseCode and returns its exit status and standard error.
func runRecipe(t *testing.T, recipe, pathDir, baseCode, newCode string) (int, string) {
	t.Helper()
	work := t.TempDir()
	for dir, code := range map[string]string{"base": baseCode, "new": newCode} {
		if err := os.Mkdir(filepath.Join(work, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, dir, "bench.py"), []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-e", "-c", recipe)
	cmd.Dir = filepath.Join(work, "new")
	cmd.Env = append(os.Environ(), "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode(), stderr.String()
	case err != nil:
		t.Fatalf("running the recipe: %v", err)
	}
	return 0, stderr.String()
}

// firstRegression returns what the first "pyprof: regression:" line of
// stderr names.
func firstRegression(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(line, "pyprof: regression: "); ok {
			return rest
		}
	}
	return ""
}
