package main

import (
	"testing"

	"github.com/spf13/pflag"
)

func TestFlagDistance(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b string
		want int
	}{
		{"same", "mode", "mode", 0},
		{"one substituted", "mide", "mode", 1},
		{"one left out", "mde", "mode", 1},
		{"one added", "moode", "mode", 1},
		{"two swapped", "mdoe", "mode", 1},
		{"swap and substitution", "mdoa", "mode", 2},
		{"empty", "", "rate", 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := flagDistance(c.a, c.b); got != c.want {
				t.Errorf("flagDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
			}
			if got := flagDistance(c.b, c.a); got != c.want {
				t.Errorf("flagDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
			}
		})
	}
}

func TestNearestFlag(t *testing.T) {
	fs := pflag.NewFlagSet("record", pflag.ContinueOnError)
	for _, name := range []string{"mode", "idle", "rate", "subprocesses", "timeline", "timeline-min", "secret"} {
		fs.Bool(name, false, "")
	}
	fs.MarkHidden("secret")
	for _, c := range []struct {
		name, typed, want string
	}{
		{"swapped letters beat another flag as far by Levenshtein alone", "mdoe", "mode"},
		{"with its value", "--mdoe=sample", "mode"},
		{"start of a long name", "sub", "subprocesses"},
		{"start of two names: the shorter first", "time", "timeline"},
		{"two letters off a long name", "timelin-mn", "timeline-min"},
		{"nothing near", "verbose", ""},
		{"too short to guess", "mo", ""},
		{"hidden flags are not suggested", "secrte", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := nearestFlag(fs, c.typed); got != c.want {
				t.Errorf("nearestFlag(%q) = %q, want %q", c.typed, got, c.want)
			}
		})
	}
}
