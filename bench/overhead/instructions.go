package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// --measure instructions counts, instead of timing, what each mode makes
// the Python process execute.
//
// Why: this machine class has no hardware counters (`perf stat -e
// instructions` is not supported) and its wall times spread 30-90% between
// runs of one program, wider than the differences the overhead targets
// turn on (pyprof within 1.15x of the null agent, 0.6x of cProfile).
// Valgrind's cachegrind counts the instructions a process executes: the
// same program with the same input gives the same count, whatever else
// the machine is doing. What it counts is the work done in the Python
// process (interpreter, sys.monitoring's dispatch, the agent); not pyprof's
// consumer, a separate process (the CPU table and the Go benchmarks show
// it), nor what an instruction costs (rdtsc, the rings' cache misses),
// which only the wall and CPU tables see.

// instrResult is one interpreter's instruction counts.
type instrResult struct {
	Python  string       `json:"python"`
	Version string       `json:"version"`
	Modes   []mode       `json:"modes"`
	Rows    []*instrRow  `json:"rows"`
	Geomean instrGeomean `json:"geomean"`
}

// instrRow is one workload's counts, one run per mode.
type instrRow struct {
	Workload string             `json:"workload"`
	Args     []string           `json:"args,omitempty"`
	Count    map[mode]uint64    `json:"instructions"`
	Compared map[string]float64 `json:"compared"`
}

// instrGeomean holds geometric means over the workloads.
type instrGeomean struct {
	Ratio    map[mode]float64   `json:"ratio_to_unprofiled"`
	Compared map[string]float64 `json:"compared"`
}

// floor is the comparison that bounds every agent taking the events pyprof
// takes: the null agent takes them and records nothing.
var floor = comparison{nullMode, cprofile}

// instrComparisons are the wall table's comparisons and the floor.
func instrComparisons(modes []mode) []comparison {
	out := comparisonsFor(modes)
	if slices.Contains(modes, floor.num) && slices.Contains(modes, floor.den) {
		out = append(out, floor)
	}
	return out
}

// instrModes are the modes that can be counted: a sampled program runs
// uninstrumented, and its cost lies in pyprof's reads from outside.
func instrModes(modes []mode) []mode {
	return slices.DeleteFunc(slices.Clone(modes), func(m mode) bool { return m == sampleMode })
}

// instructions runs every workload once in every countable mode under
// cachegrind.
func (r *runner) instructions(py *python) (*instrResult, error) {
	workloads, err := listWorkloads(r.cfg)
	if err != nil {
		return nil, err
	}
	outDir := filepath.Join(r.tmp, "cachegrind")
	wrapper := filepath.Join(r.tmp, "valgrind-python-"+py.version)
	if err := writeValgrindWrapper(wrapper, py.path, outDir); err != nil {
		return nil, err
	}
	modes := instrModes(r.cfg.modes)
	if err := r.warmUp(py); err != nil {
		return nil, err
	}
	res := &instrResult{Python: py.path, Version: py.version, Modes: modes}
	for _, w := range workloads {
		row := &instrRow{Workload: w.Name, Args: w.Args, Count: map[mode]uint64{}}
		for _, m := range modes {
			n, err := r.countRun(py, w, m, wrapper, outDir)
			if err != nil {
				return nil, err
			}
			row.Count[m] = n
			fmt.Fprintf(r.log, "overhead: Python %s %s %s: %d instructions\n", py.version, w.Name, m.label(), n)
		}
		res.Rows = append(res.Rows, row)
	}
	res.compare()
	return res, nil
}

// countRun runs w in mode m with the Python process under cachegrind and
// returns the instructions it and its descendants executed.
func (r *runner) countRun(py *python, w workload, m mode, wrapper, outDir string) (uint64, error) {
	if err := os.RemoveAll(outDir); err != nil {
		return 0, err
	}
	if err := os.Mkdir(outDir, 0o700); err != nil {
		return 0, err
	}
	j := r.workloadJob(py, w, m)
	if m.usesPyprof() {
		j.argv = m.invocation(r.cfg.pyprof, j.profile, wrapper, append([]string{w.Path}, w.Args...))
	} else {
		j.argv = append(valgrindArgv(outDir), j.argv...)
	}
	// String hashing is randomised per process: fix it, or dict and set
	// layouts (and so the counts) vary from run to run.
	j.env = append(j.env, "PYTHONHASHSEED=0")
	if _, err := r.exec(j); err != nil {
		return 0, err
	}
	return sumCachegrind(outDir)
}

// valgrindArgv is the command prefix that counts a process's instructions
// into outDir, a file per process.
func valgrindArgv(outDir string) []string {
	return []string{"valgrind", "--tool=cachegrind", "--cache-sim=no",
		"--cachegrind-out-file=" + filepath.Join(outDir, "cg.%p"),
		"--log-file=" + filepath.Join(outDir, "log.%p")}
}

// writeValgrindWrapper writes the --python given to pyprof: pyprof probes
// its interpreter before recording, and the probe should not pay
// valgrind's start-up, so only a run that carries the agent's
// configuration (PYPROF_AGENT, set by pyprof for the recorded program)
// goes under valgrind. A script, not a link: pyprof caches what an
// executable says it is, keyed by the file.
func writeValgrindWrapper(path, python, outDir string) error {
	quoted := make([]string, 0, 8)
	for _, a := range append(valgrindArgv(outDir), python) {
		quoted = append(quoted, shellQuote(a))
	}
	script := fmt.Sprintf("#!/bin/sh\nif [ -n \"$PYPROF_AGENT\" ]; then\n\texec %s \"$@\"\nfi\nexec %s \"$@\"\n",
		strings.Join(quoted, " "), shellQuote(python))
	return os.WriteFile(path, []byte(script), 0o700)
}

// sumCachegrind adds up the counts of every cachegrind file in dir.
func sumCachegrind(dir string) (uint64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "cg.*"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("%w: cachegrind wrote no counts into %s%s", errRun, dir, valgrindLog(dir))
	}
	var total uint64
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return 0, err
		}
		n, err := parseCachegrind(f)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %v", errRun, name, err)
		}
		total += n
	}
	return total, nil
}

// valgrindLog returns what valgrind said, for an error message.
func valgrindLog(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "log.*"))
	var b strings.Builder
	for _, name := range logs {
		text, _ := os.ReadFile(name)
		b.WriteString("\n" + strings.TrimSpace(string(text)))
	}
	return b.String()
}

// parseCachegrind reads the instruction total from a cachegrind output
// file: its "events:" line names the counted events, and the "summary:"
// line gives their totals in that order.
func parseCachegrind(r io.Reader) (uint64, error) {
	column := -1
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "events:"); ok {
			column = slices.Index(strings.Fields(rest), "Ir")
		}
		if rest, ok := strings.CutPrefix(line, "summary:"); ok {
			fields := strings.Fields(rest)
			if column < 0 || column >= len(fields) {
				return 0, fmt.Errorf("no Ir total (events line missing or without Ir)")
			}
			return strconv.ParseUint(fields[column], 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no summary line: did the process end early?")
}

// compare fills in the ratios and their geometric means.
func (res *instrResult) compare() {
	comps := instrComparisons(res.Modes)
	res.Geomean = instrGeomean{Ratio: map[mode]float64{}, Compared: map[string]float64{}}
	for _, row := range res.Rows {
		row.Compared = map[string]float64{}
		for _, c := range comps {
			row.Compared[c.String()] = row.ratio(c.num, c.den)
		}
	}
	for _, m := range res.Modes {
		if m != unprofiled && slices.Contains(res.Modes, unprofiled) {
			res.Geomean.Ratio[m] = res.geomean(func(row *instrRow) float64 { return row.ratio(m, unprofiled) })
		}
	}
	for _, c := range comps {
		res.Geomean.Compared[c.String()] = res.geomean(func(row *instrRow) float64 { return row.Compared[c.String()] })
	}
}

// ratio is num's count over den's, 0 where either is missing.
func (row *instrRow) ratio(num, den mode) float64 {
	a, b := row.Count[num], row.Count[den]
	if a == 0 || b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (res *instrResult) geomean(f func(*instrRow) float64) float64 {
	var xs []float64
	for _, row := range res.Rows {
		xs = append(xs, f(row))
	}
	return geomeanOf(xs)
}

func (res *instrResult) write(w io.Writer, md bool) {
	heading(w, md, fmt.Sprintf("Python %s: instructions executed by the Python process, millions (ratio to unprofiled); cachegrind, one run each", res.Version))
	comps := instrComparisons(res.Modes)
	g := grid{columns([]string{"workload", "args"}, res.Modes, comps)}
	for _, row := range res.Rows {
		cells := []string{row.Workload, strings.Join(row.Args, " ")}
		for _, m := range res.Modes {
			cells = append(cells, instrCell(row.Count[m], row.ratio(m, unprofiled), m))
		}
		for _, c := range comps {
			cells = append(cells, fmt.Sprintf("%.2f", row.Compared[c.String()]))
		}
		g = append(g, cells)
	}
	cells := []string{"geomean", ""}
	for _, m := range res.Modes {
		if r := res.Geomean.Ratio[m]; r > 0 {
			cells = append(cells, fmt.Sprintf("(%.2fx)", r))
		} else {
			cells = append(cells, "")
		}
	}
	for _, c := range comps {
		cells = append(cells, fmt.Sprintf("%.2f", res.Geomean.Compared[c.String()]))
	}
	printGrid(w, md, append(g, cells))
	writeVerdicts(w, md, "Overhead targets in instructions, Python "+res.Version, res.targets(), nil)
}

func instrCell(n uint64, ratio float64, m mode) string {
	if ratio == 0 || m == unprofiled {
		return fmt.Sprintf("%.1f", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f (%.2fx)", float64(n)/1e6, ratio)
}

// targets checks the overhead targets' ratios against the counts, and says
// where the floor lies.
func (res *instrResult) targets() []verdict {
	var rows []*row
	for _, ir := range res.Rows {
		rows = append(rows, &row{Workload: ir.Workload, Compared: ir.Compared})
	}
	out := ratioTargets(rows, res.Geomean.Compared, "pyprof never above cProfile")
	if g, ok := res.Geomean.Compared[floor.String()]; ok {
		out = append(out, verdict{"null/cProfile geomean <= 0.6 (the floor: an agent taking these events and recording nothing)",
			g <= 0.6, fmt.Sprintf("%.2f", g)})
	}
	return out
}
