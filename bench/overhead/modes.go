package main

import (
	"fmt"
	"slices"
)

// mode is one way of running a workload.
type mode string

const (
	unprofiled mode = "unprofiled"
	cprofile   mode = "cprofile"
	pyprofMode mode = "pyprof"
	nullMode   mode = "null"
	twinMode   mode = "pyprof-python"
	pyOnlyMode mode = "pyprof-nonative"
	sampleMode mode = "pyprof-sample"
)

// allModes is every mode in the order columns are shown.
var allModes = []mode{unprofiled, cprofile, pyprofMode, nullMode, twinMode, pyOnlyMode, sampleMode}

func parseModes(list []string) ([]mode, error) {
	var out []mode
	for _, s := range list {
		m := mode(s)
		if !slices.Contains(allModes, m) {
			return nil, fmt.Errorf("%w: --modes %s: use unprofiled, cprofile, pyprof, null, pyprof-python, pyprof-nonative or pyprof-sample", errUsage, s)
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --modes is empty", errUsage)
	}
	// Columns follow allModes, whatever order the flag gave.
	slices.SortFunc(out, func(a, b mode) int { return slices.Index(allModes, a) - slices.Index(allModes, b) })
	return out, nil
}

// usesPyprof reports whether the mode runs under `pyprof record`.
func (m mode) usesPyprof() bool {
	return m == pyprofMode || m == nullMode || m == twinMode || m == pyOnlyMode || m == sampleMode
}

// label is the mode's column heading.
func (m mode) label() string {
	if m == cprofile {
		return "cProfile"
	}
	return string(m)
}

// agentFlags are the record flags that choose the mode's agent.
func (m mode) agentFlags() []string {
	switch m {
	case nullMode:
		return []string{"--agent", "null"}
	case twinMode:
		return []string{"--agent", "python"}
	case pyOnlyMode:
		return []string{"--native-calls=false"}
	case sampleMode:
		// The sampling mode's yardstick: at 100 Hz it slows the target
		// by 1% at most.
		return []string{"--mode", "sample", "--rate", "100"}
	}
	return nil
}

// invocation is how a mode runs program (the script, or -c code, with its
// arguments) under interpreter: the whole command line. pyprof is given the
// interpreter with --python, which takes any path, a wrapper script too
// (after "--" pyprof knows an interpreter only by its name, python3.N).
func (m mode) invocation(pyprof, profilePath, interpreter string, program []string) []string {
	switch m {
	case unprofiled:
		return append([]string{interpreter}, program...)
	case cprofile:
		return append([]string{interpreter, "-m", "cProfile", "-o", "/dev/null"}, program...)
	}
	argv := append([]string{pyprof, "record", "-q"}, m.agentFlags()...)
	argv = append(argv, "--python", interpreter, "-o", profilePath, "--")
	return append(argv, program...)
}
