package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// workload is one program of --dir.
type workload struct {
	Name string   // file name, e.g. fib.py
	Path string   // absolute
	Args []string // from --args
}

// pair is one cell of a round: a workload in a mode.
type pair struct {
	w int // index into the workloads
	m mode
}

// listWorkloads returns DIR's *.py files, sorted, filtered by --workloads.
func listWorkloads(c *config) ([]workload, error) {
	paths, err := filepath.Glob(filepath.Join(c.dir, "*.py"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []workload
	for _, p := range paths {
		name := filepath.Base(p)
		if strings.HasPrefix(name, "_") || len(c.workloads) > 0 && !slices.Contains(c.workloads, name) {
			continue
		}
		out = append(out, workload{Name: name, Path: p, Args: c.args[name]})
	}
	for _, name := range append(slices.Clone(c.workloads), mapKeys(c.args)...) {
		if !slices.ContainsFunc(out, func(w workload) bool { return w.Name == name }) {
			return nil, fmt.Errorf("%w: workload %s is not in %s", errUsage, name, c.dir)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no *.py workloads in %s", errUsage, c.dir)
	}
	return out, nil
}

func mapKeys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// overhead runs every round and summarises them into py's table.
func (r *runner) overhead(py *python) (*table, error) {
	workloads, err := listWorkloads(r.cfg)
	if err != nil {
		return nil, err
	}
	if err := r.warmUp(py); err != nil {
		return nil, err
	}
	var order []pair
	for w := range workloads {
		for _, m := range r.cfg.modes {
			order = append(order, pair{w, m})
		}
	}
	samples := map[pair][]sample{}
	for round := 1; round <= r.cfg.rounds; round++ {
		r.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		started := time.Now()
		for _, p := range order {
			s, err := r.exec(r.workloadJob(py, workloads[p.w], p.m))
			if err != nil {
				return nil, err
			}
			samples[p] = append(samples[p], s)
		}
		fmt.Fprintf(r.log, "overhead: Python %s round %d/%d took %v\n", py.version, round, r.cfg.rounds, time.Since(started).Round(time.Millisecond))
	}
	return summarise(py, r.cfg.modes, workloads, samples, r.cfg.stat), nil
}

// workloadJob is the command that runs w in mode m.
func (r *runner) workloadJob(py *python, w workload, m mode) job {
	var profile string
	if m.usesPyprof() {
		profile = filepath.Join(r.tmp, "x.pb.gz")
	}
	program := append([]string{w.Path}, w.Args...)
	return job{argv: m.invocation(r.cfg.pyprof, profile, py.path, program), profile: profile}
}

// warmUp records `python -c pass` once in each pyprof mode, so that the
// agent is compiled and cached before anything is timed.
func (r *runner) warmUp(py *python) error {
	for _, m := range r.cfg.modes {
		if !m.usesPyprof() {
			continue
		}
		profile := filepath.Join(r.tmp, "x.pb.gz")
		argv := m.invocation(r.cfg.pyprof, profile, py.path, []string{"-c", "pass"})
		if _, err := r.exec(job{argv: argv, profile: profile}); err != nil {
			return err
		}
	}
	return nil
}
