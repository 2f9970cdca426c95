// Command pyprof-wheel builds pyprof's Python wheels, one per platform:
//
//	go run ./cmd/pyprof-wheel -o DIR [--platform linux-amd64,linux-arm64]
//
// Each wheel holds the pyprof executable, cross-compiled by the go command
// with CGO_ENABLED=0 (a static binary, which the manylinux tags promise),
// installed on PATH as a script; the pyprof Python package of this folder
// (`python -m pyprof`, and the API that profiles a region of a running
// program); and its metadata. The version is the executable's own
// (internal/version). No network and no Python packaging tool is needed.
//
// It exits with status 2 for a bad command line, 3 when the executable
// cannot be built (no go command, a build that fails) and 4 when a wheel
// cannot be written, as pyprof itself does.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("pyprof-wheel", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.StringP("output", "o", "", "")
	platforms := fs.String("platform", strings.Join(Platforms(), ","), "")
	if err := fs.Parse(args); err != nil || *out == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: pyprof-wheel -o DIR [--platform %s]\n", strings.Join(Platforms(), ","))
		return 2
	}
	var chosen []Platform
	for _, name := range strings.Split(*platforms, ",") {
		p, err := PlatformNamed(name)
		if err != nil {
			fmt.Fprintf(stderr, "pyprof-wheel: %v\n", err)
			return 2
		}
		chosen = append(chosen, p)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "pyprof-wheel: %v\n", err)
		return 4
	}
	for _, p := range chosen {
		path, err := Build(p, *out)
		if err != nil {
			fmt.Fprintf(stderr, "pyprof-wheel: %s: %v\n", p.GOARCH, err)
			if errors.Is(err, errOutput) {
				return 4
			}
			return 3
		}
		fmt.Fprintln(stdout, path)
	}
	return 0
}
