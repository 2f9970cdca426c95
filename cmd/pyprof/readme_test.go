package main

import (
	"os"
	"strings"
	"testing"
)

// TestCIRecipeInstallsPyprof: README's "In CI" section says how the job
// gets pyprof before the recipe runs it, with commands that build what
// this repository holds.
func TestCIRecipeInstallsPyprof(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### In CI\n")
	if !ok {
		t.Fatal(`README.md has no "In CI" section`)
	}
	recipe := strings.Index(section, "```sh\n")
	if recipe < 0 {
		t.Fatal(`README.md's "In CI" section has no sh block`)
	}
	before := section[:recipe]
	tests := []struct {
		name, command, builds string
	}{
		{"the wheel", "go run ./cmd/pyprof-wheel -o dist && pip install dist/pyprof-*$(uname -m).whl", "../pyprof-wheel"},
		{"the binary", "go build -o bin/pyprof ./cmd/pyprof", "."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(before, tt.command) {
				t.Errorf("the In CI section does not say, before its recipe, how to install %s: %q", tt.name, tt.command)
			}
			if _, err := os.Stat(tt.builds + "/main.go"); err != nil {
				t.Errorf("the command builds %s, which is not a command here: %v", tt.builds, err)
			}
		})
	}
}
