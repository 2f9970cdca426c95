package main

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestSecondsValue checks what a seconds flag accepts: Go durations and
// plain numbers of seconds as py-spy users type them, and nothing
// negative, NaN, infinite or unitless-and-not-a-number.
func TestSecondsValue(t *testing.T) {
	for _, tc := range []struct {
		name, arg string
		want      time.Duration
		ok        bool
	}{
		{"whole seconds", "30", 30 * time.Second, true},
		{"fractional seconds", "0.5", 500 * time.Millisecond, true},
		{"zero", "0", 0, true},
		{"go duration", "30s", 30 * time.Second, true},
		{"go minutes", "1m30s", 90 * time.Second, true},
		{"milliseconds", "250ms", 250 * time.Millisecond, true},
		{"negative seconds", "-5", 0, false},
		{"negative duration", "-5s", 0, false},
		{"nan", "NaN", 0, false},
		{"infinite", "inf", 0, false},
		{"too long", "1e30", 0, false},
		{"words", "soon", 0, false},
		{"empty", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d time.Duration
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			secondsVar(fs, &d, "duration", time.Hour)
			err := fs.Parse([]string{"--duration=" + tc.arg})
			if (err == nil) != tc.ok {
				t.Fatalf("--duration=%q: error %v, want ok %v", tc.arg, err, tc.ok)
			}
			if tc.ok && d != tc.want {
				t.Errorf("--duration=%q = %v, want %v", tc.arg, d, tc.want)
			}
		})
	}
}

// TestSecondsDefault checks that the default shows in Go's form and holds
// when the flag is not given.
func TestSecondsDefault(t *testing.T) {
	var d time.Duration
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	secondsVar(fs, &d, "duration", 2*time.Second)
	if err := fs.Parse(nil); err != nil || d != 2*time.Second {
		t.Fatalf("default: %v, %v; want 2s", d, err)
	}
	if got := fs.Lookup("duration").DefValue; got != "2s" {
		t.Errorf("DefValue %q, want 2s", got)
	}
}
