package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// scaleResult compares pyprof's peak memory on one workload at two sizes:
// the memory target wants the run 10x longer to use less than 1.2x the
// memory.
type scaleResult struct {
	Python   string       `json:"python"`
	Version  string       `json:"version"`
	Workload string       `json:"workload"`
	Runs     [2]*scaleRun `json:"runs"`
	// Ratios are large/small: the unprofiled wall time (how much longer the
	// larger run is), then each peak RSS.
	LengthRatio float64 `json:"length_ratio"`
	TreeRatio   float64 `json:"tree_rss_ratio"`
	PyprofRatio float64 `json:"pyprof_rss_ratio"`
	PythonRatio float64 `json:"python_rss_ratio"`
}

// scaleRun is the workload at one size, run once each way.
type scaleRun struct {
	Size       string  `json:"size"`
	Unprofiled float64 `json:"unprofiled_seconds"`
	Wall       float64 `json:"pyprof_seconds"`
	// TreeRSS is wait4's peak for pyprof and its descendants, the larger
	// of the two; PythonRSS the program's own, reported by the shim;
	// PyprofRSS pyprof's own: TreeRSS when that is above PythonRSS (then it
	// can only be pyprof's), else the largest VmHWM read every pollEvery
	// (a run shorter than the first reading under load has none). All KiB.
	TreeRSS   int64 `json:"tree_rss_kib"`
	PyprofRSS int64 `json:"pyprof_rss_kib"`
	PythonRSS int64 `json:"python_rss_kib"`
	// Exceeded is set when pyprof grew past --scale-limit and was killed:
	// the sizes are then lower bounds.
	Exceeded bool `json:"exceeded,omitempty"`
}

const pollEvery = 10 * time.Millisecond

func (r *runner) scale(py *python) (*scaleResult, error) {
	spec := r.cfg.scale
	script := filepath.Join(r.cfg.dir, spec.Workload)
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("%w: --scale: %s is not in %s", errUsage, spec.Workload, r.cfg.dir)
	}
	res := &scaleResult{Python: py.path, Version: py.version, Workload: spec.Workload}
	for i, size := range spec.Sizes {
		run, err := r.scaleRun(py, script, size)
		if err != nil {
			return nil, err
		}
		res.Runs[i] = run
		fmt.Fprintf(r.log, "overhead: Python %s scale %s %s: %.2fs under pyprof\n", py.version, spec.Workload, size, run.Wall)
	}
	small, large := res.Runs[0], res.Runs[1]
	res.LengthRatio = large.Unprofiled / small.Unprofiled
	res.TreeRatio = float64(large.TreeRSS) / float64(small.TreeRSS)
	res.PyprofRatio = float64(large.PyprofRSS) / float64(small.PyprofRSS)
	res.PythonRatio = float64(large.PythonRSS) / float64(small.PythonRSS)
	return res, nil
}

// scaleRun runs script at size unprofiled, then under pyprof with the
// shim as its interpreter and pyprof's memory watched.
func (r *runner) scaleRun(py *python, script, size string) (*scaleRun, error) {
	run := &scaleRun{Size: size}
	plain, err := r.exec(job{argv: []string{py.path, script, size}})
	if err != nil {
		return nil, err
	}
	run.Unprofiled = plain.Wall.Seconds()
	report, shimPath := filepath.Join(r.tmp, "shim-report"), filepath.Join(r.tmp, "python-shim")
	_ = os.Remove(report)
	if err := shim.script(shimPath, r.self, report, py.path); err != nil {
		return nil, err
	}
	profile := filepath.Join(r.tmp, "x.pb.gz")
	w := &memWatch{limit: r.cfg.scaleLimit}
	j := job{
		argv:    []string{r.cfg.pyprof, "record", "-q", "--python", shimPath, "-o", profile, "--", script, size},
		profile: profile,
		watch:   w.watch,
	}
	s, err := r.exec(j)
	run.Exceeded = w.exceeded.Load()
	if err != nil && !run.Exceeded {
		return nil, err
	}
	run.Wall, run.TreeRSS = s.Wall.Seconds(), s.MaxRSS
	u, _ := lastReport(report)
	run.PythonRSS = u.MaxRSS
	run.PyprofRSS = w.peak.Load()
	if run.TreeRSS > run.PythonRSS && run.PythonRSS > 0 {
		run.PyprofRSS = run.TreeRSS
	}
	return run, nil
}

// memWatch follows one process's memory from /proc.
type memWatch struct {
	limit    uint64 // bytes
	peak     atomic.Int64
	exceeded atomic.Bool
}

// watch polls the VmHWM of the launcher's child (pyprof) until done,
// killing the launcher's tree past the limit.
func (m *memWatch) watch(launcherPid int, done <-chan struct{}) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	pid := 0
	for {
		if pid == 0 {
			if c := children(launcherPid); len(c) > 0 {
				pid = c[0]
			}
		}
		hwm, rss, ok := readMemory(pid)
		if ok {
			m.peak.Store(max(m.peak.Load(), hwm))
			if uint64(rss)<<10 > m.limit && !m.exceeded.Load() {
				m.exceeded.Store(true)
				killDescendants(launcherPid)
			}
		}
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// readMemory returns VmHWM and VmRSS of pid in KiB.
func readMemory(pid int) (hwm, rss int64, ok bool) {
	if pid <= 0 {
		return 0, 0, false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmHWM":
			hwm, ok = n, true
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss, ok
}

func (s *scaleResult) write(w io.Writer, md bool) {
	heading(w, md, fmt.Sprintf("Python %s: memory as the run grows, %s", s.Version, s.Workload))
	g := grid{{"size", "unprofiled s", "pyprof s", "peak RSS MiB: tree", "pyprof", "python"}}
	for _, r := range s.Runs {
		size := r.Size
		if r.Exceeded {
			size += " (killed past --scale-limit: lower bounds)"
		}
		g = append(g, []string{size, fmt.Sprintf("%.3f", r.Unprofiled), fmt.Sprintf("%.3f", r.Wall),
			mib(r.TreeRSS), mib(r.PyprofRSS), mib(r.PythonRSS)})
	}
	g = append(g, []string{"large/small", fmt.Sprintf("%.1fx", s.LengthRatio), "",
		fmt.Sprintf("%.2fx", s.TreeRatio), fmt.Sprintf("%.2fx", s.PyprofRatio), fmt.Sprintf("%.2fx", s.PythonRatio)})
	printGrid(w, md, g)
	verdict := "MET"
	if s.PyprofRatio >= 1.2 || s.TreeRatio >= 1.2 {
		verdict = "NOT MET"
	}
	fmt.Fprintf(w, "\nOverhead target, peak RSS of the longer run < 1.2x: %s\n", verdict)
}
