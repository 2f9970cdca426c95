package main

import (
	"os"

	"github.com/pyprof/pyprof/profiler"
	"github.com/pyprof/pyprof/profiler/wire"
)

// checkApplicable refuses flags that could not apply to this recording,
// before the program starts: a run that ends in an error after the
// program's whole run, or a flag silently doing nothing, wastes the run.
func (f *recordFlags) checkApplicable() error {
	if f.timeline != "" && f.mode == "sample" {
		return usagef("--timeline lists calls, which sample mode does not see: use --mode trace or hybrid")
	}
	if f.timelineMinSet && f.timeline == "" {
		return usagef("--timeline-min is the shortest call --timeline keeps: give --timeline FILE too")
	}
	if f.set["duration"] && f.pid == 0 {
		return usagef("--duration bounds sampling a running process (--pid PID); a program pyprof starts is recorded until it exits")
	}
	if err := f.checkModeFlags(); err != nil {
		return err
	}
	if err := f.checkBufferSize(); err != nil {
		return err
	}
	return f.checkDistinctOutputs()
}

// checkBufferSize refuses rings too small for the agent's largest record,
// the definition of a code object with the longest names and line table
// the agent keeps: it could not be written, and the code's calls would
// have no name. A size that is not one at all is parseSize's to refuse.
func (f *recordFlags) checkBufferSize() error {
	size, err := parseSize(f.bufferSize)
	if min := wire.MinRingBytes(); err == nil && size < min {
		return usagef("--buffer-size %s is too small for the largest record the agent writes: use at least %dMiB", f.bufferSize, min>>20)
	}
	return nil
}

// checkModeFlags refuses, when given, the flags of a mode not used: the
// agent's in sample mode, which loads no agent, and the sampler's in
// trace mode, which takes no samples.
func (f *recordFlags) checkModeFlags() error {
	if f.mode == "sample" {
		for _, name := range []string{"agent", "tool-id", "buffer-size"} {
			if f.set[name] {
				return usagef("--%s sets up the tracing agent, which sample mode does not load: drop it, or use --mode trace or hybrid", name)
			}
		}
	}
	if f.mode == "trace" && f.set["idle"] {
		return usagef("--idle chooses which samples to keep, and trace mode takes none: drop it, or use --mode sample or hybrid")
	}
	return nil
}

// namedOutput is an output file and the flag that named it.
type namedOutput struct{ flag, path string }

// checkDistinctOutputs refuses one file named for two outputs: the second
// written would replace the first.
func (f *recordFlags) checkDistinctOutputs() error {
	outs := f.namedOutputs()
	for i, a := range outs {
		for _, b := range outs[i+1:] {
			if samePath(a.path, b.path) {
				return usagef("%s %s and %s %s are the same file: give each output its own", a.flag, a.path, b.flag, b.path)
			}
		}
	}
	return nil
}

// namedOutputs lists every file record writes, with the flag naming it.
func (f *recordFlags) namedOutputs() []namedOutput {
	var outs []namedOutput
	for _, path := range f.outputs {
		outs = append(outs, namedOutput{"-o", path})
	}
	if f.timeline != "" {
		outs = append(outs, namedOutput{"--timeline", f.timeline})
	}
	if f.selfProfile != "" {
		outs = append(outs, namedOutput{"--self-profile", f.selfProfile})
	}
	return outs
}

// checkNotScript refuses an output that is the program's own script,
// which writing the profile would replace.
func (f *recordFlags) checkNotScript(target profiler.Target) error {
	if target.Kind != profiler.Script {
		return nil
	}
	for _, out := range f.namedOutputs() {
		if samePath(out.path, target.Name) {
			return usagef("%s %s is the program's own script, which the profile would replace: name another file", out.flag, out.path)
		}
	}
	return nil
}

// samePath reports whether a and b name one file: the same target once
// their links are followed (dangling ones too, to the file they would
// create), or, for files that exist, the same file under two names (a
// hard link). Standard output ("-", its aliases and links to them) is not
// a file: checkStdoutOnce counts its outputs.
func samePath(a, b string) bool {
	targetA, targetB := outputTarget(a), outputTarget(b)
	if targetA == stdoutName || targetB == stdoutName {
		return false
	}
	if targetA == targetB {
		return true
	}
	x, errA := os.Stat(a)
	y, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(x, y)
}
