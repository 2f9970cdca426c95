package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// startupResult is what pyprof adds to an empty program.
type startupResult struct {
	Python  string `json:"python"`
	Version string `json:"version"`
	Runs    int    `json:"runs"`
	// Plain and Pyprof are median wall seconds of `python -c pass`, bare
	// and under `pyprof record -q`, the agent cached.
	Plain  float64 `json:"plain_seconds"`
	Pyprof float64 `json:"pyprof_seconds"`
	// PyprofRun is the median duration pyprof wrote into those profiles:
	// Pyprof-PyprofRun is pyprof's own start-up and profile writing.
	PyprofRun float64 `json:"pyprof_run_seconds"`
	// FirstUse is the median of as many runs, each with an empty cache
	// folder, interleaved with the others: Compile is its excess over
	// Pyprof, what the first use costs (probing the interpreter, writing
	// the agent, and compiling it where pyprof carries no prebuilt one).
	FirstUse float64 `json:"first_use_seconds"`
	Compile  float64 `json:"compile_seconds"`
}

// startupRuns is the least number of runs of each kind: one empty start
// is too short for five samples to say much on a noisy machine.
const startupRuns = 10

// startup measures pyprof's fixed cost with py.
func (r *runner) startup(py *python) (*startupResult, error) {
	n := max(r.cfg.rounds, startupRuns)
	profile := filepath.Join(r.tmp, "x.pb.gz")
	plain := job{argv: unprofiled.invocation("", "", py.path, []string{"-c", "pass"})}
	traced := job{argv: pyprofMode.invocation(r.cfg.pyprof, profile, py.path, []string{"-c", "pass"}), profile: profile}
	if _, err := r.exec(traced); err != nil { // compile and cache the agent
		return nil, err
	}
	var plains, traces, runs, firsts []float64
	first := job{} // marks the first-use job in the shuffled order
	for range n {
		jobs := []*job{&plain, &traced, &first}
		r.rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
		for _, j := range jobs {
			if j == &first {
				d, err := r.firstUse(traced)
				if err != nil {
					return nil, err
				}
				firsts = append(firsts, d.Seconds())
				continue
			}
			s, err := r.exec(*j)
			if err != nil {
				return nil, err
			}
			if j == &plain {
				plains = append(plains, s.Wall.Seconds())
			} else {
				traces, runs = append(traces, s.Wall.Seconds()), append(runs, s.Run.Seconds())
			}
		}
	}
	res := &startupResult{Python: py.path, Version: py.version, Runs: n,
		Plain: median(plains), Pyprof: median(traces), PyprofRun: median(runs), FirstUse: median(firsts)}
	res.Compile = res.FirstUse - res.Pyprof
	return res, nil
}

// firstUse times j once with XDG_CACHE_HOME pointing at an empty folder,
// as on pyprof's first run: nothing probed, no agent written or built.
func (r *runner) firstUse(j job) (time.Duration, error) {
	dir, err := os.MkdirTemp(r.tmp, "cache-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	j.env = append(j.env, "XDG_CACHE_HOME="+dir)
	s, err := r.exec(j)
	return s.Wall, err
}

func (s *startupResult) write(w io.Writer, md bool) {
	heading(w, md, fmt.Sprintf("Python %s: start-up, `-c pass`, median of %d runs", s.Version, s.Runs))
	printGrid(w, md, grid{
		{"measure", "seconds"},
		{"python -c pass", fmt.Sprintf("%.3f", s.Plain)},
		{"pyprof record -q -- python -c pass", fmt.Sprintf("%.3f", s.Pyprof)},
		{"pyprof's added start-up", fmt.Sprintf("%.3f", s.Pyprof-s.Plain)},
		{"  of which outside the profiled run", fmt.Sprintf("%.3f", s.Pyprof-s.PyprofRun)},
		{"first use, empty cache", fmt.Sprintf("%.3f", s.FirstUse)},
		{"  first use - cached", fmt.Sprintf("%.3f", s.Compile)},
	})
}
