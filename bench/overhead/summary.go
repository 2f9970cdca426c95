package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// table is one interpreter's results.
type table struct {
	Python  string `json:"python"`
	Version string `json:"version"`
	Modes   []mode `json:"modes"`
	// Stat is what the ratios compare: each cell's median or min (its
	// fastest run, the least disturbed on a busy machine).
	Stat    string   `json:"stat"`
	Rows    []*row   `json:"rows"`
	Geomean geomeans `json:"geomean"`
	// Notices are the distinct lines pyprof printed despite -q.
	Notices []string `json:"notices,omitempty"`
}

// row is one workload's results.
type row struct {
	Workload string              `json:"workload"`
	Args     []string            `json:"args,omitempty"`
	Modes    map[mode]*modeStats `json:"modes"`
	Compared map[string]float64  `json:"compared,omitempty"`
	// Intervals hold, for the comparisons of medians, the range in which
	// 95% of the ratios fall when each mode's runs are drawn again at
	// random (a bootstrap): a ratio whose range holds 1 was not told apart
	// from a tie on this machine. Left out for fewer than minIntervalRuns
	// runs, and for --stat min.
	Intervals map[string][2]float64 `json:"compared_interval_95,omitempty"`
	Spread    float64               `json:"spread"`
}

// modeStats summarises one workload's runs in one mode.
type modeStats struct {
	Wall   []float64 `json:"wall_seconds"`
	Median float64   `json:"median_seconds"`
	// Seconds is the median or the fastest run, as the table's Stat says.
	Seconds   float64   `json:"seconds"`
	Ratio     float64   `json:"ratio_to_unprofiled,omitempty"`
	Run       []float64 `json:"run_seconds,omitempty"`
	RunMedian float64   `json:"run_median_seconds,omitempty"`
	// RunSeconds is Run's median or min, as the table's Stat says.
	RunSeconds float64   `json:"run_stat_seconds,omitempty"`
	CPU        []float64 `json:"cpu_seconds"`
	// CPUSeconds is CPU's median or min, as the table's Stat says.
	CPUSeconds   float64 `json:"cpu_stat_seconds"`
	MaxRSS       []int64 `json:"max_rss_kib"`
	MaxRSSMedian int64   `json:"max_rss_median_kib"`
	// Waits are how long the program waited for pyprof in each run, where
	// the profile says.
	Waits []float64 `json:"producer_wait_seconds,omitempty"`
}

// What --stat can choose.
const (
	statMedian = "median"
	statMin    = "min"
)

// geomeans are geometric means over the workloads.
type geomeans struct {
	Ratio    map[mode]float64   `json:"ratio_to_unprofiled,omitempty"`
	Compared map[string]float64 `json:"compared,omitempty"`
}

// comparison is a ratio of two modes' medians shown in its own column.
type comparison struct{ num, den mode }

func (c comparison) String() string { return c.num.label() + "/" + c.den.label() }

// comparisons are the ratios the overhead targets are set on.
var comparisons = []comparison{{pyprofMode, cprofile}, {pyprofMode, nullMode}, {pyOnlyMode, cprofile}}

// comparisonsFor keeps the comparisons whose modes both ran.
func comparisonsFor(modes []mode) []comparison {
	var out []comparison
	for _, c := range comparisons {
		if slices.Contains(modes, c.num) && slices.Contains(modes, c.den) {
			out = append(out, c)
		}
	}
	return out
}

func summarise(py *python, modes []mode, workloads []workload, samples map[pair][]sample, stat string) *table {
	t := &table{Python: py.path, Version: py.version, Modes: modes}
	for w, wl := range workloads {
		r := &row{Workload: wl.Name, Args: wl.Args, Modes: map[mode]*modeStats{}}
		for _, m := range modes {
			r.Modes[m] = stats(samples[pair{w, m}])
			t.Notices = addNotices(t.Notices, samples[pair{w, m}])
			r.Spread = max(r.Spread, spread(r.Modes[m].Wall))
		}
		t.Rows = append(t.Rows, r)
	}
	t.compare(stat)
	return t
}

// compare fills in the ratios from each cell's median or fastest run.
func (t *table) compare(stat string) {
	t.Stat = stat
	t.Geomean = geomeans{Ratio: map[mode]float64{}, Compared: map[string]float64{}}
	for _, r := range t.Rows {
		r.Compared = map[string]float64{}
		for _, s := range r.Modes {
			s.Seconds, s.RunSeconds, s.CPUSeconds = s.Median, s.RunMedian, median(s.CPU)
			if stat == statMin {
				s.Seconds, s.CPUSeconds = slices.Min(s.Wall), slices.Min(s.CPU)
				if len(s.Run) > 0 {
					s.RunSeconds = slices.Min(s.Run)
				}
			}
		}
		if base := r.Modes[unprofiled]; base != nil {
			for _, s := range r.Modes {
				s.Ratio = s.Seconds / base.Seconds
			}
		}
		r.Intervals = nil
		for _, c := range comparisonsFor(t.Modes) {
			num, den := r.Modes[c.num], r.Modes[c.den]
			r.Compared[c.String()] = num.Seconds / den.Seconds
			if stat == statMedian && min(len(num.Wall), len(den.Wall)) >= minIntervalRuns {
				if r.Intervals == nil {
					r.Intervals = map[string][2]float64{}
				}
				r.Intervals[c.String()] = medianRatioInterval(num.Wall, den.Wall)
			}
		}
	}
	for _, m := range t.Modes {
		if slices.Contains(t.Modes, unprofiled) {
			t.Geomean.Ratio[m] = geomean(t.Rows, func(r *row) float64 { return r.Modes[m].Ratio })
		}
	}
	for _, c := range comparisonsFor(t.Modes) {
		t.Geomean.Compared[c.String()] = geomean(t.Rows, func(r *row) float64 { return r.Compared[c.String()] })
	}
}

// minIntervalRuns is the fewest runs a mode needs for its ratios to get
// an interval: with fewer, drawing them again says little.
const minIntervalRuns = 5

// medianRatioInterval returns the range of the middle 95% of the ratios
// median(num)/median(den) when num and den are each drawn again, with
// replacement, 2000 times. The draws use a fixed seed, so that a saved
// report prints the same interval when loaded.
func medianRatioInterval(num, den []float64) [2]float64 {
	const draws = 2000
	rng := rand.New(rand.NewPCG(uint64(len(num)), uint64(len(den))))
	ratios := make([]float64, draws)
	a, b := make([]float64, len(num)), make([]float64, len(den))
	for i := range ratios {
		for j := range a {
			a[j] = num[rng.IntN(len(num))]
		}
		for j := range b {
			b[j] = den[rng.IntN(len(den))]
		}
		ratios[i] = median(a) / median(b)
	}
	slices.Sort(ratios)
	return [2]float64{ratios[draws*25/1000], ratios[draws*975/1000-1]}
}

func stats(samples []sample) *modeStats {
	s := &modeStats{}
	for _, x := range samples {
		s.Wall = append(s.Wall, x.Wall.Seconds())
		s.MaxRSS = append(s.MaxRSS, x.MaxRSS)
		s.CPU = append(s.CPU, x.CPU.Seconds())
		if x.Run > 0 {
			s.Run = append(s.Run, x.Run.Seconds())
		}
		if x.Wait >= 0 {
			s.Waits = append(s.Waits, x.Wait.Seconds())
		}
	}
	s.Median, s.RunMedian = median(s.Wall), median(s.Run)
	rss := make([]float64, len(s.MaxRSS))
	for i, v := range s.MaxRSS {
		rss[i] = float64(v)
	}
	s.MaxRSSMedian = int64(median(rss))
	return s
}

func addNotices(seen []string, samples []sample) []string {
	for _, s := range samples {
		if s.Notice != "" && !slices.Contains(seen, s.Notice) {
			seen = append(seen, s.Notice)
		}
	}
	return seen
}

// median of xs, 0 for none; the mean of the middle two for an even count.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is (max-min)/median: how far apart the rounds of one cell were.
func spread(xs []float64) float64 {
	m := median(xs)
	if m == 0 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / m
}

func geomean(rows []*row, f func(*row) float64) float64 {
	var xs []float64
	for _, r := range rows {
		xs = append(xs, f(r))
	}
	return geomeanOf(xs)
}

// geomeanOf is the geometric mean of the positive xs, 0 if none.
func geomeanOf(xs []float64) float64 {
	sum, n := 0.0, 0
	for _, v := range xs {
		if v > 0 {
			sum += math.Log(v)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return math.Exp(sum / float64(n))
}

// verdict is one of the overhead targets, met or not.
type verdict struct {
	Target string `json:"target"`
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
}

// targets checks the overhead targets against the table.
func (t *table) targets() []verdict {
	out := ratioTargets(t.Rows, t.Geomean.Compared, "pyprof never slower than cProfile")
	if v, ok := t.neverWaited(); ok {
		out = append(out, v)
	}
	return out
}

// neverWaited checks that no pyprof run made the program wait for room
// in its rings; ok is false when no profile said.
func (t *table) neverWaited() (v verdict, ok bool) {
	v = verdict{Target: "the program never waited for pyprof (every pyprof run)", Met: true, Detail: "no wait"}
	var waited []string
	for _, r := range t.Rows {
		s := r.Modes[pyprofMode]
		if s == nil || len(s.Waits) == 0 {
			continue
		}
		ok = true
		if w := slices.Max(s.Waits); w > 0 {
			waited = append(waited, fmt.Sprintf("%s %v", r.Workload, time.Duration(w*1e9).Round(time.Microsecond)))
		}
	}
	if len(waited) > 0 {
		v.Met, v.Detail = false, "waited: "+strings.Join(waited, ", ")
	}
	return v, ok
}

// ratioTargets checks the overhead ratio targets on rows' comparisons and
// their geometric means; never names the last one in the table's unit.
func ratioTargets(rows []*row, geomean map[string]float64, never string) []verdict {
	var out []verdict
	vsNull, vsC := comparison{pyprofMode, nullMode}.String(), comparison{pyprofMode, cprofile}.String()
	if _, ok := geomean[vsNull]; ok {
		out = append(out, everyRow(rows, "pyprof <= 1.15x null on every workload", vsNull, 1.15))
	}
	if g, ok := geomean[vsC]; ok {
		out = append(out, verdict{"pyprof/cProfile geomean <= 0.6", g <= 0.6, fmt.Sprintf("%.2f", g)})
		out = append(out, everyRow(rows, never, vsC, 1))
	}
	return out
}

// everyRow checks that a comparison stays at or under limit on every row.
// Where the rows have intervals, the detail gives the worst row's, or
// those of the rows over limit, and says which of those hold limit: on a
// noisy machine a ratio just over it may be a tie.
func everyRow(rows []*row, target, key string, limit float64) verdict {
	var over []string
	var worst *row
	for _, r := range rows {
		v := r.Compared[key]
		if worst == nil || v > worst.Compared[key] {
			worst = r
		}
		if v > limit {
			over = append(over, fmt.Sprintf("%s %.2f%s", r.Workload, v, intervalNote(r, key, limit)))
		}
	}
	if len(over) == 0 {
		detail := "worst 0.00"
		if worst != nil {
			detail = fmt.Sprintf("worst %.2f%s", worst.Compared[key], intervalNote(worst, key, limit))
		}
		return verdict{target, true, detail}
	}
	return verdict{target, false, strings.Join(over, ", ")}
}

// intervalNote is " [95%: a-b]" for row r's interval of comparison key,
// with ", holds L" when the interval holds limit; "" without one.
func intervalNote(r *row, key string, limit float64) string {
	iv, ok := r.Intervals[key]
	if !ok {
		return ""
	}
	note := fmt.Sprintf(" [95%%: %.2f-%.2f", iv[0], iv[1])
	if iv[0] <= limit && limit <= iv[1] {
		note += fmt.Sprintf(", holds %.2f", limit)
	}
	return note + "]"
}
