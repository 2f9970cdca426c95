package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary act as the launcher and the shim, as the
// harness binary does.
func TestMain(m *testing.M) {
	if r := activeRole(); r != nil {
		os.Exit(r.run())
	}
	// Under -race every launcher would otherwise sleep a second on exit
	// (the race runtime's atexit_sleep_ms).
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	os.Exit(m.Run())
}

const tinyWorkload = `import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(int(sys.argv[1]) if len(sys.argv) > 1 else 12))
`

// testPython returns a Python 3.12+ or skips the test.
func testPython(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"python3.12", "python3.13", "python3.14"} {
		if pys, err := resolvePythons([]string{name}); err == nil {
			return pys[0].path
		}
	}
	t.Skip("no Python 3.12 or newer found")
	return ""
}

var (
	pyprofOnce sync.Once
	pyprofPath string
	pyprofErr  error
)

// testPyprof builds pyprof once for every test that needs it.
func testPyprof(t *testing.T) string {
	t.Helper()
	pyprofOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			pyprofErr = err
			return
		}
		dir, err := os.MkdirTemp("", "overhead-test-")
		if err != nil {
			pyprofErr = err
			return
		}
		pyprofPath, pyprofErr = buildPyprof(root, dir, &bytes.Buffer{})
	})
	if pyprofErr != nil {
		t.Fatal(pyprofErr)
	}
	return pyprofPath
}

// harness runs the whole command on one tiny workload and returns its
// standard output.
func harness(t *testing.T, extra ...string) string {
	t.Helper()
	py := testPython(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.py"), []byte(tinyWorkload), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--dir", dir, "--python", py, "--rounds", "1", "--seed", "7", "--args", "tiny.py=10"}, extra...)
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("overhead %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

func TestTextTable(t *testing.T) {
	// No --pyprof: the harness builds its own.
	out := harness(t)
	for _, want := range []string{
		"1 rounds, seed 7",
		"workload  args  unprofiled  cProfile  pyprof  null  pyprof/cProfile  pyprof/null  pyprof run  spread",
		"workload  unprofiled  cProfile  pyprof  null",
		"pyprof <= 1.15x null on every workload: ",
		"pyprof/cProfile geomean <= 0.6: ",
		"the program never waited for pyprof (every pyprof run): MET (no wait)",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := rowsStarting(out, "tiny.py")
	if len(rows) != 3 {
		t.Fatalf("want a time, a CPU and a memory row for tiny.py, got %d:\n%s", len(rows), out)
	}
	for i, want := range []int{
		2 + 4 + 3 + 2 + 1 + 1, // workload, args, 4 modes (3 with a ratio), 2 comparisons, run, spread
		1 + 4 + 3 + 2,         // workload, 4 modes (3 with a ratio), 2 comparisons
		1 + 4,                 // workload, 4 modes
	} {
		if n := len(strings.Fields(rows[i])); n != want {
			t.Errorf("row %d has %d fields, want %d: %q", i, n, want, rows[i])
		}
	}
	if len(rowsStarting(out, "geomean")) != 2 {
		t.Errorf("want geomean rows under the time and CPU tables:\n%s", out)
	}
}

func TestMarkdownTable(t *testing.T) {
	testPython(t)
	out := harness(t, "--pyprof", testPyprof(t), "--format", "markdown", "--modes", "null,unprofiled,pyprof")
	var widths []int
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "|") {
			widths = append(widths, strings.Count(line, "|"))
		}
	}
	// Time and CPU tables: header, rule, tiny.py, geomean; memory table:
	// header, rule, tiny.py. Modes are shown in their canonical order.
	want := []int{9, 9, 9, 9, 6, 6, 6, 6, 5, 5, 5}
	if !slices.Equal(widths, want) {
		t.Errorf("markdown rows have %v separators, want %v:\n%s", widths, want, out)
	}
	if !strings.Contains(out, "| workload | args | unprofiled | pyprof | null | pyprof/null | pyprof run | spread |") {
		t.Errorf("unexpected header:\n%s", out)
	}
}

func TestJSONReport(t *testing.T) {
	testPython(t)
	saved := filepath.Join(t.TempDir(), "report.json")
	out := harness(t, "--pyprof", testPyprof(t), "--format", "json", "--measure", "all", "--scale", "tiny.py=8,12", "--save", saved)
	var rep report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if rep.Seed != 7 || len(rep.Tables) != 1 || len(rep.Startups) != 1 || len(rep.Scales) != 1 {
		t.Fatalf("want one table, start-up and scale with seed 7:\n%s", out)
	}
	tb := rep.Tables[0]
	if len(tb.Rows) != 1 || tb.Rows[0].Workload != "tiny.py" || strings.Join(tb.Rows[0].Args, " ") != "10" {
		t.Fatalf("want one row for tiny.py 10:\n%s", out)
	}
	for _, m := range []mode{unprofiled, cprofile, pyprofMode, nullMode} {
		s := tb.Rows[0].Modes[m]
		if s == nil || len(s.Wall) != 1 || s.Median <= 0 || s.MaxRSSMedian <= 0 || s.CPUSeconds <= 0 {
			t.Errorf("mode %s: want one positive sample, got %+v", m, s)
		}
	}
	if tb.Rows[0].Modes[pyprofMode].RunMedian <= 0 {
		t.Errorf("pyprof run time missing from the profile")
	}
	// The wait comes from the profile's comments, for pyprof's modes only.
	if w := tb.Rows[0].Modes[pyprofMode].Waits; len(w) != 1 || w[0] != 0 {
		t.Errorf("pyprof's wait: %v, want one run without any", w)
	}
	if w := tb.Rows[0].Modes[cprofile].Waits; len(w) != 0 {
		t.Errorf("cProfile has waits %v", w)
	}
	if len(tb.Rows[0].Compared) != 2 || tb.Geomean.Compared["pyprof/cProfile"] <= 0 {
		t.Errorf("want pyprof/cProfile and pyprof/null, got %v and %v", tb.Rows[0].Compared, tb.Geomean.Compared)
	}
	if s := rep.Startups[0]; s.Plain <= 0 || s.Pyprof <= 0 || s.FirstUse <= 0 {
		t.Errorf("start-up: %+v", s)
	}
	for _, r := range rep.Scales[0].Runs {
		if r.TreeRSS <= 0 || r.PyprofRSS <= 0 || r.PythonRSS <= 0 {
			t.Errorf("scale run %s: want every peak RSS, got %+v", r.Size, r)
		}
	}
	var again bytes.Buffer
	if code := run([]string{"--load", saved, "--stat", "min"}, &again, &again); code != 0 || !strings.Contains(again.String(), "fastest wall seconds") {
		t.Errorf("--load --stat min: exit %d\n%s", code, again.String())
	}
}

// TestChildRSS pins the launcher: a child's peak RSS must be its own, not
// the harness's, however much memory the harness has used.
func TestChildRSS(t *testing.T) {
	py := testPython(t)
	ballast := make([]byte, 256<<20)
	for i := 0; i < len(ballast); i += 4096 { // one byte a page makes it resident
		ballast[i] = 1
	}
	r := &runner{cfg: &config{timeout: time.Minute}, tmp: t.TempDir(), log: io.Discard}
	var err error
	if r.self, err = os.Executable(); err != nil {
		t.Fatal(err)
	}
	s, err := r.exec(job{argv: []string{py, "-c", "pass"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxRSS <= 0 || s.MaxRSS > 128<<10 {
		t.Errorf("python -c pass peak RSS %d KiB; the harness holds %d MiB", s.MaxRSS, len(ballast)>>20)
	}
	runtime.KeepAlive(ballast)
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"mode", []string{"--modes", "pyprof,perf"}, "--modes perf"},
		{"rounds", []string{"--rounds", "0"}, "--rounds 0"},
		{"format", []string{"--format", "csv"}, "--format csv"},
		{"args", []string{"--args", "fib.py"}, "want NAME=ARGS"},
		{"measure", []string{"--measure", "speed"}, "--measure speed"},
		{"scale", []string{"--scale", "fib.py=32"}, "want NAME=SMALL,LARGE"},
		{"dir", []string{"--dir", "/nonexistent"}, "is not a folder"},
		{"stat", []string{"--stat", "mean"}, "--stat mean"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

func TestMedianAndSpread(t *testing.T) {
	for _, tc := range []struct {
		name           string
		xs             []float64
		median, spread float64
	}{
		{"none", nil, 0, 0},
		{"one", []float64{2}, 2, 0},
		{"odd", []float64{3, 1, 2}, 2, 1},
		{"even", []float64{4, 1, 2, 3}, 2.5, 1.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m := median(tc.xs); m != tc.median {
				t.Errorf("median %v, want %v", m, tc.median)
			}
			if len(tc.xs) > 0 {
				if s := spread(tc.xs); s != tc.spread {
					t.Errorf("spread %v, want %v", s, tc.spread)
				}
			}
		})
	}
}

// squeeze collapses runs of spaces, so that column widths do not matter.
func squeeze(s string) string {
	var lines []string
	for _, line := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(line), "  "))
	}
	return strings.Join(lines, "\n")
}

func rowsStarting(out, prefix string) []string {
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			rows = append(rows, line)
		}
	}
	return rows
}

// TestScaleTwoInterpreters pins the shim's form: one shim binary standing
// in for 3.12 and then 3.13 was once taken by pyprof's probe cache for
// 3.12 both times, and the 3.12 agent crashed 3.13.
func TestScaleTwoInterpreters(t *testing.T) {
	var pythons []string
	for _, name := range []string{"python3.12", "python3.13"} {
		pys, err := resolvePythons([]string{name})
		if err != nil {
			t.Skipf("needs python3.12 and python3.13: %v", err)
		}
		pythons = append(pythons, pys[0].path)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.py"), []byte(tinyWorkload), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--dir", dir, "--python", strings.Join(pythons, ","), "--pyprof", testPyprof(t),
		"--measure", "scale", "--scale", "tiny.py=8,12", "--format", "json"}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Scales) != 2 {
		t.Fatalf("want two scale results: %v\n%s", err, stdout.String())
	}
}

func TestParseCachegrind(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       uint64
		err        string
	}{
		{"instructions only", "version: 1\ncmd: python3.12 fib.py\nevents: Ir\nfl=x\n1 5\nsummary: 125738412\n", 125738412, ""},
		{"Ir after other events", "events: Dr Ir Dw\nsummary: 7 42 9\n", 42, ""},
		{"no summary", "events: Ir\nfl=x\n", 0, "no summary line"},
		{"no Ir", "events: Dr\nsummary: 7\n", 0, "no Ir total"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCachegrind(strings.NewReader(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %d, %v; want an error saying %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// testValgrind skips a test where valgrind is missing (.ci/run installs it).
func testValgrind(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("valgrind"); err != nil {
		t.Skipf("counting instructions needs valgrind (apt-get install valgrind): %v", err)
	}
}

// TestInstructions counts the tiny workload in every countable mode. The
// counts must be the same from run to run (that is the point of counting)
// and ordered as the modes' work is: each profiler executes more than the
// bare program, and pyprof, which records, more than the null agent.
func TestInstructions(t *testing.T) {
	testPython(t)
	testValgrind(t)
	pyprof := testPyprof(t)
	var counts [2]*instrResult
	for i := range counts {
		out := harness(t, "--pyprof", pyprof, "--format", "json", "--measure", "instructions",
			"--modes", "unprofiled,cprofile,pyprof,null,pyprof-sample")
		var rep report
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Instructions) != 1 || len(rep.Tables) != 0 {
			t.Fatalf("want only an instruction table (%v):\n%s", err, out)
		}
		counts[i] = rep.Instructions[0]
	}
	res := counts[0]
	if !slices.Equal(res.Modes, []mode{unprofiled, cprofile, pyprofMode, nullMode}) {
		t.Errorf("modes %v: want sample mode left out", res.Modes)
	}
	n := res.Rows[0].Count
	for _, m := range []mode{cprofile, nullMode} {
		if n[m] <= n[unprofiled] {
			t.Errorf("%s counted %d instructions, unprofiled %d: want more", m, n[m], n[unprofiled])
		}
	}
	if n[pyprofMode] <= n[nullMode] {
		t.Errorf("pyprof counted %d instructions, the null agent %d: want more", n[pyprofMode], n[nullMode])
	}
	for m, c := range n {
		again := counts[1].Rows[0].Count[m]
		if d := math.Abs(float64(again)-float64(c)) / float64(c); d > 0.005 {
			t.Errorf("%s: %d then %d instructions (%.2f%% apart): want the same count twice", m, c, again, 100*d)
		}
	}
	// The geomean of one row is that row's ratio, up to the rounding of
	// exp(log(x)), which can differ from x in its last bit.
	row := res.Rows[0].Compared[floor.String()]
	if g := res.Geomean.Compared[floor.String()]; g <= 0 || math.Abs(g-row) > 1e-12*row {
		t.Errorf("null/cProfile: geomean %v, row %v", g, res.Rows[0].Compared)
	}
	var text bytes.Buffer
	if code := run([]string{"--load", writeReport(t, counts[0])}, &text, &text); code != 0 ||
		!strings.Contains(text.String(), "instructions executed by the Python process") ||
		!strings.Contains(text.String(), "pyprof <= 1.15x null on every workload") {
		t.Errorf("--load: exit %d\n%s", code, text.String())
	}
}

// writeReport saves a report holding res, for --load.
func writeReport(t *testing.T, res *instrResult) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	rep := &report{Command: "test", Instructions: []*instrResult{res}}
	if err := rep.save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRatioIntervals checks the bootstrap ranges of ratios of medians and
// what the "never slower" verdict says of them: a tie's range holds 1, a
// clear difference's does not, and --stat min gets none.
func TestRatioIntervals(t *testing.T) {
	noisy := func(base float64, n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = base * (0.8 + 0.4*float64((i*7)%n)/float64(n))
		}
		return xs
	}
	tie := medianRatioInterval(noisy(1, 21), noisy(1, 21))
	if !(tie[0] < 1 && 1 < tie[1]) {
		t.Errorf("a tie's interval %v does not hold 1", tie)
	}
	apart := medianRatioInterval(noisy(2, 21), noisy(1, 21))
	if !(1 < apart[0] && apart[0] < 2 && 2 < apart[1]) {
		t.Errorf("interval %v of a ratio of 2 should hold 2 and not 1", apart)
	}

	vs := comparison{pyprofMode, cprofile}.String()
	tb := &table{Modes: []mode{cprofile, pyprofMode}, Rows: []*row{{
		Workload: "w.py",
		Modes: map[mode]*modeStats{
			cprofile:   {Wall: noisy(1, 21), Median: median(noisy(1, 21)), CPU: noisy(1, 21)},
			pyprofMode: {Wall: noisy(1.02, 21), Median: median(noisy(1.02, 21)), CPU: noisy(1, 21)},
		},
	}}}
	tb.compare(statMedian)
	v := everyRow(tb.Rows, "never slower", vs, 1)
	if v.Met || !strings.Contains(v.Detail, "w.py 1.02 [95%: ") || !strings.Contains(v.Detail, ", holds 1.00]") {
		t.Errorf("verdict %+v: want NOT MET at 1.02 with an interval that holds 1", v)
	}
	tb.compare(statMin)
	if tb.Rows[0].Intervals != nil {
		t.Errorf("--stat min got intervals %v", tb.Rows[0].Intervals)
	}
	if v := everyRow(tb.Rows, "never slower", vs, 1); strings.Contains(v.Detail, "95%") {
		t.Errorf("--stat min verdict %+v mentions an interval", v)
	}
}
