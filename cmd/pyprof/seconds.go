package main

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// secondsValue is a pflag.Value for a duration that takes Go's form (30s,
// 1m30s, 500ms) and also a plain number of seconds (30, 0.5), as py-spy's
// --duration takes it, so that `--duration 30` means what its users mean
// rather than failing for want of a unit. Negative, NaN and infinite
// durations are refused where they are parsed.
type secondsValue time.Duration

// errSeconds says what a seconds flag takes.
var errSeconds = errors.New("want seconds (30, 0.5) or a duration (30s, 1m)")

// secondsVar defines flag name on fs, with default def, stored in p.
func secondsVar(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration) {
	*p = def
	fs.Var((*secondsValue)(p), name, "")
}

// Set parses s as a Go duration or as a number of seconds.
func (v *secondsValue) Set(s string) error {
	d, err := parseSeconds(s)
	if err != nil {
		return err
	}
	*v = secondsValue(d)
	return nil
}

func parseSeconds(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return 0, errSeconds
		}
		if secs*float64(time.Second) >= math.MaxInt64 {
			return 0, errors.New("too long: want at most 2562047h")
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		return 0, errors.New("a duration cannot be negative")
	}
	return d, nil
}

// String prints the duration in Go's form.
func (v *secondsValue) String() string { return time.Duration(*v).String() }

// Type names the value in pflag's messages.
func (v *secondsValue) Type() string { return "seconds" }
