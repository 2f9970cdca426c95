package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/diff"
	"github.com/pyprof/pyprof/export/flamegraph"
	"github.com/pyprof/pyprof/export/report"
)

func init() {
	commands["flamegraph"] = flamegraphCommand
	commands["report"] = reportCommand
	commands["diff"] = diffCommand
	commands["convert"] = convertCommand
}

// newFlags returns a flag set for a subcommand; errors are reported by
// the caller as usage errors.
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// outputFlag defines -o/--output for a command that writes one file.
func outputFlag(fs *pflag.FlagSet) *string {
	v := &onceString{cmd: fs.Name()}
	fs.VarP(v, "output", "o", "")
	return &v.value
}

// onceString is a string flag refused when given twice: pflag keeps the
// last, and the command would drop the first output without a word.
type onceString struct {
	cmd, value string
	set        bool
}

func (v *onceString) Set(s string) error {
	if v.set {
		return fmt.Errorf("given twice: %s writes one file; run it once for each", v.cmd)
	}
	v.value, v.set = s, true
	return nil
}

func (v *onceString) String() string { return v.value }
func (v *onceString) Type() string   { return "string" }

// parseArgs parses flags and checks the number of positional arguments.
func parseArgs(fs *pflag.FlagSet, args []string, names ...string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, flagError(fs, err)
	}
	if fs.NArg() != len(names) {
		return nil, usagef("%s: want %s, got %d arguments (see `pyprof help`)", fs.Name(), strings.Join(names, " "), fs.NArg())
	}
	return fs.Args(), nil
}

// readProfile reads any profile file pyprof understands; what is wrong
// with it is a usage error naming the file.
func readProfile(path string) (*callgraph.Profile, error) {
	p, err := export.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	return p, nil
}

// readWithType reads a profile and resolves --sample-type against it.
func readWithType(path, typ string) (*callgraph.Profile, callgraph.Value, error) {
	p, err := readProfile(path)
	if err != nil {
		return nil, 0, err
	}
	v, err := sampleType(p, typ, path)
	return p, v, err
}

// sampleType resolves --sample-type against what the profile measured.
func sampleType(p *callgraph.Profile, name, file string) (callgraph.Value, error) {
	if name == "" {
		return p.Default, nil
	}
	v, ok := callgraph.ValueByType(name)
	if ok && p.Has(v) {
		return v, nil
	}
	return 0, usagef("--sample-type %s: %s has %s", name, file, valueTypes(p))
}

// valueTypes lists the sample types p has, as --sample-type names them.
func valueTypes(p *callgraph.Profile) string {
	var have []string
	for _, x := range p.Values {
		have = append(have, x.Info().Type)
	}
	return strings.Join(have, ", ")
}

// Bounds of numeric flags. A flame graph wider than maxWidth pixels
// would draw frames no screen shows, and be slow to open.
const (
	minWidth = 100
	maxWidth = 100_000
)

func flamegraphCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("flamegraph")
	out := outputFlag(fs)
	title := fs.String("title", "", "")
	width := fs.Int("width", flamegraph.DefaultWidth, "")
	narrowest := fs.Float64("min-width", flamegraph.DefaultMinWidth, "")
	inverted := fs.Bool("inverted", false, "")
	typ := fs.String("sample-type", "", "")
	views := addViewFlags(fs, true)
	views.warnNoMatch(stderr)
	views.addIdleFlag(fs, true)
	pos, err := parseArgs(fs, args, "PROFILE")
	if err == nil {
		_, err = views.options()
	}
	switch {
	case err != nil:
	case *out == "":
		err = usagef("flamegraph: -o FILE.svg is required")
	case imageNotSVG(*out):
		err = notSVG("flamegraph", *out)
	case *width < minWidth || *width > maxWidth:
		err = usagef("flamegraph: --width %d: want %d to %d pixels", *width, minWidth, maxWidth)
	default:
		err = inRange("flamegraph", "min-width", *narrowest, 0, float64(*width), "0 to --width pixels")
	}
	if err == nil {
		err = checkNotInput("flamegraph", *out, pos...)
	}
	if err == nil {
		err = checkOutput(*out)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	p, v, err := readWithType(pos[0], *typ)
	if err == nil {
		err = views.apply(p)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	if *narrowest == 0 {
		*narrowest = -1 // every frame: Options reads 0 as the default
	}
	opts := flamegraph.Options{Title: *title, Width: *width, MinWidth: *narrowest, Inverted: *inverted, Value: &v}
	return exitCode(stderr, writeFile(*out, stdout, func(w io.Writer) error { return flamegraph.Write(w, p, opts) }))
}

// inRange refuses a float flag that is NaN or outside [lo, hi], which
// also refuses infinities when the bounds are finite.
func inRange(cmd, flag string, x, lo, hi float64, want string) error {
	if math.IsNaN(x) || x < lo || x > hi {
		return usagef("%s: --%s %g: want %s", cmd, flag, x, want)
	}
	return nil
}

// checkTop refuses a negative --top; 0 asks for every row.
func checkTop(cmd string, top int) error {
	if top < 0 {
		return usagef("%s: --top %d: want a number of rows, or 0 for all", cmd, top)
	}
	return nil
}

// reportTop turns --top into report.Options.Top, which reads 0 as the
// default and a negative number as every row.
func reportTop(top int) int {
	if top == 0 {
		return -1
	}
	return top
}

func reportCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report")
	top := fs.Int("top", report.DefaultTop, "")
	sortBy := fs.String("sort", report.SortFlat, "")
	thread := fs.String("thread", "", "")
	typ := fs.String("sample-type", "", "")
	tree := fs.Bool("tree", false, "")
	minShare := fs.Float64("min-share", report.DefaultMinShare, "")
	views := addViewFlags(fs, true)
	views.warnNoMatch(stderr)
	views.addIdleFlag(fs, false)
	pos, err := parseArgs(fs, args, "PROFILE")
	if err == nil {
		_, err = views.options()
	}
	if err == nil {
		err = inRange("report", "min-share", *minShare, 0, 100, "a percentage from 0 to 100")
	}
	if err == nil {
		err = checkTop("report", *top)
	}
	switch {
	case err != nil:
	case !*tree && fs.Changed("min-share"):
		err = usagef("report: --min-share folds the call tree: add --tree")
	case *tree && (fs.Changed("top") || fs.Changed("sort")):
		err = usagef("report: --top and --sort shape the table, not the tree: drop them or --tree")
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	p, v, err := readWithType(pos[0], *typ)
	if err == nil {
		err = views.apply(p)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	err = writeText(stdout, func(w io.Writer) error {
		var err error
		if *tree {
			err = report.WriteTree(w, p, report.TreeOptions{Thread: *thread, Value: &v, MinShare: *minShare, Idle: views.idle, Width: tableWidth(stdout)})
		} else {
			opts := report.Options{Top: reportTop(*top), Sort: *sortBy, Thread: *thread, Value: &v, Aligned: isTerminal(stdout), Width: tableWidth(stdout), Idle: views.idle}
			err = report.Write(w, p, opts)
		}
		if err != nil {
			return usageError{fmt.Errorf("report %s: %w", pos[0], err)}
		}
		return nil
	})
	return exitCode(stderr, err)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func diffCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("diff")
	out := outputFlag(fs)
	failAbove := fs.Float64("fail-above", -1, "")
	top := fs.Int("top", 10, "")
	typ := fs.String("sample-type", "", "")
	views := addViewFlags(fs, false)
	views.addIdleFlag(fs, true)
	basePaths, newPaths, err := diffArgs(fs, args)
	switch {
	case err != nil:
	case fs.Changed("fail-above"):
		err = inRange("diff", "fail-above", *failAbove, 0, math.MaxFloat64, "a percentage of 0 or more")
	}
	if err == nil {
		err = checkTop("diff", *top)
	}
	if err == nil && *out == stdoutName {
		err = usagef("diff: -o -: the text summary goes to standard output: name a file for the SVG")
	}
	if err == nil && *out != "" && imageNotSVG(*out) {
		err = notSVG("diff", *out)
	}
	if err == nil && *out != "" {
		err = checkNotInput("diff", *out, append(slices.Clone(basePaths), newPaths...)...)
	}
	if err == nil && *out != "" {
		err = checkOutput(*out)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	base, err := readProfiles(basePaths)
	if err != nil {
		return exitCode(stderr, err)
	}
	next, err := readProfiles(newPaths)
	if err != nil {
		return exitCode(stderr, err)
	}
	v, err := diffValue(base, next, basePaths, newPaths, *typ)
	if err == nil {
		err = views.apply(append(slices.Clone(base), next...)...)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	res, err := diff.CompareRuns(base, next, v)
	if err != nil {
		return exitCode(stderr, usageError{fmt.Errorf("diff %s %s: %w", basePaths[0], newPaths[0], err)})
	}
	if err := writeText(stdout, func(w io.Writer) error { return res.WriteText(w, *top) }); err != nil {
		return exitCode(stderr, err)
	}
	if *out != "" {
		if err := writeDiffGraph(*out, stdout, base, next, basePaths, newPaths, v); err != nil {
			return exitCode(stderr, err)
		}
	}
	return gate(res, *failAbove, *top, stderr)
}

// diffArgs parses diff's flags and splits its profiles into the two sides:
// BASE NEW, or several runs a side as BASE... -- NEW....
func diffArgs(fs *pflag.FlagSet, args []string) (base, new []string, err error) {
	if err := fs.Parse(args); err != nil {
		return nil, nil, flagError(fs, err)
	}
	pos, dash := fs.Args(), fs.ArgsLenAtDash()
	switch {
	case dash < 0 && len(pos) == 2:
		return pos[:1], pos[1:], nil
	case dash < 0:
		return nil, nil, usagef("diff: want BASE NEW, or runs as BASE... -- NEW..., got %d arguments (see `pyprof help`)", len(pos))
	case dash == 0 || dash == len(pos):
		return nil, nil, usagef("diff: BASE... -- NEW...: want at least one profile each side of --, got %d and %d", dash, len(pos)-dash)
	}
	return pos[:dash], pos[dash:], nil
}

// diffValue resolves what diff compares, --sample-type or else the first
// NEW profile's default, and checks that every profile of both sides has
// it, naming the one that has not in one line, as sampleType does.
func diffValue(base, next []*callgraph.Profile, basePaths, newPaths []string, typ string) (callgraph.Value, error) {
	v, err := sampleType(next[0], typ, newPaths[0])
	if err != nil {
		return 0, err
	}
	ps, paths := slices.Concat(base, next), slices.Concat(basePaths, newPaths)
	for i, p := range ps {
		if p.Has(v) {
			continue
		}
		if typ != "" {
			return 0, usagef("--sample-type %s: %s has %s", typ, paths[i], valueTypes(p))
		}
		return 0, usagef("diff: %s has no %s values, which %s has (it has %s): choose one both have with --sample-type", paths[i], v.Info().Type, newPaths[0], valueTypes(p))
	}
	return v, nil
}

// readProfiles reads every profile of one side of a diff.
func readProfiles(paths []string) ([]*callgraph.Profile, error) {
	var out []*callgraph.Profile
	for _, path := range paths {
		p, err := readProfile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// gateRuns is how many runs a side the README's CI recipe records: the
// gate takes its noise from the spread of each side's runs, and fewer
// tell it little.
const gateRuns = 5

// gate implements --fail-above: exit 1 and name what regressed, the top
// largest regressions when there are more (every function is checked).
// With no regression, a gate on time whose runs lay further apart than
// the change it judges could not have seen one: it says so and exits
// exitNoisy, never passing for what it could not judge.
func gate(res *diff.Result, pct float64, top int, stderr io.Writer) int {
	if pct < 0 {
		return exitOK
	}
	regressions := res.Regressions(pct)
	named := regressions
	if top > 0 && top < len(named) {
		named = named[:top]
	}
	for _, r := range named {
		fmt.Fprintf(stderr, "pyprof: regression: %s\n", r)
	}
	if more := len(regressions) - len(named); more > 0 {
		fmt.Fprintf(stderr, "pyprof: regression: %d more (--top 0 names them all)\n", more)
	}
	if len(regressions) > 0 {
		if runs := min(res.BaseRuns, res.NewRuns); runs < gateRuns {
			fmt.Fprintf(stderr, "pyprof: judged on %d base and %d new runs: with fewer than %d a side, what varies between identical runs (a thread pool's calls, time) can pass for a regression; record %d a side\n",
				res.BaseRuns, res.NewRuns, gateRuns, gateRuns)
		}
		return exitRegression
	}
	if why := res.Unjudged(pct); why != "" {
		fmt.Fprintf(stderr, "pyprof: %s\n", why)
		return exitNoisy
	}
	return exitOK
}

func convertCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("convert")
	out := outputFlag(fs)
	format := fs.String("format", "", "")
	maxDepth := fs.Int("max-depth", defaultMaxDepth, "")
	views := addViewFlags(fs, true)
	views.warnNoMatch(stderr)
	pos, err := parseArgs(fs, args, "IN")
	if err == nil {
		_, err = views.options()
	}
	if err == nil && *out == "" {
		err = usagef("convert: -o OUT is required")
	}
	if err == nil && *maxDepth < 1 {
		err = usagef("convert: --max-depth %d: want at least 1", *maxDepth)
	}
	if err == nil && *out == stdoutName {
		err = stdoutFormat(*format)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	f, err := outputFormat(*out, *format)
	if err == nil {
		err = checkStdout(*out, f, stdout)
	}
	if err == nil {
		err = checkNotInput("convert", *out, pos...)
	}
	if err == nil {
		err = checkOutput(*out)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	p, err := readProfile(pos[0])
	if err == nil {
		err = views.apply(p)
	}
	if err != nil {
		return exitCode(stderr, err)
	}
	return exitCode(stderr, writeFile(*out, stdout, func(w io.Writer) error {
		return export.WriterFor(f)(w, p, export.Options{MaxDepth: *maxDepth})
	}))
}

// imageNotSVG reports whether path names a format other than the SVG
// flamegraph writes: a flame graph written into x.png would not open, and
// one written into x.pb.gz or x.folded would pass for a profile.
func imageNotSVG(path string) bool {
	lower := strings.ToLower(path)
	switch filepath.Ext(lower) {
	case ".png", ".jpg", ".jpeg", ".gif", ".pdf", ".webp", ".bmp", ".pprof", ".folded", ".json":
		return true
	}
	return strings.HasSuffix(lower, ".pb.gz") || strings.HasSuffix(lower, ".pb")
}

// notSVG refuses an output named for another format than the SVG cmd
// writes, naming the file to write instead.
func notSVG(cmd, out string) error {
	stem := out
	if strings.HasSuffix(strings.ToLower(stem), ".pb.gz") {
		stem = stem[:len(stem)-len(".pb.gz")]
	} else {
		stem = strings.TrimSuffix(stem, filepath.Ext(stem))
	}
	return usagef("%s: -o %s: pyprof writes SVG (open it in a browser); name it %s.svg", cmd, out, stem)
}

// checkNotInput refuses an output that is one of the command's input
// profiles, which writing it would replace before, or instead of, its
// being read again.
func checkNotInput(cmd, out string, inputs ...string) error {
	for _, in := range inputs {
		if samePath(out, in) {
			return usagef("%s: -o %s is an input profile, which the output would replace: name another file", cmd, out)
		}
	}
	return nil
}

// writeDiffGraph draws one run a side: widths are NEW's own, and a median
// of call trees is no call tree. With several runs a side it draws each
// side's median run (by total), whose totals are the text's medians, and
// names the files it drew and how many runs they stand for.
func writeDiffGraph(out string, stdout io.Writer, base, next []*callgraph.Profile, basePaths, newPaths []string, v callgraph.Value) error {
	b, err := diff.MedianRun(base, v)
	if err != nil {
		return err
	}
	n, err := diff.MedianRun(next, v)
	if err != nil {
		return err
	}
	name := func(paths []string, i int) string {
		if len(paths) == 1 {
			return paths[i]
		}
		return fmt.Sprintf("%s (the median of %d runs)", paths[i], len(paths))
	}
	opts := flamegraph.Options{Value: &v, Diff: &flamegraph.DiffInfo{BaseName: name(basePaths, b), NewName: name(newPaths, n)}}
	return writeFile(out, stdout, func(w io.Writer) error { return diff.FlameGraph(w, base[b], next[n], opts) })
}

// warnNoMatch makes v say, in one line on stderr, that a --hide or --focus
// matches no function: the view is then the whole profile or nothing at
// all, which would otherwise look like a profile that recorded nothing.
func (v *viewFlags) warnNoMatch(stderr io.Writer) {
	v.warn = func(msg string) { fmt.Fprintf(stderr, "pyprof: %s: %s\n", v.cmd, msg) }
	v.noMatch = func(filter string, re *regexp.Regexp) {
		result := "nothing is hidden"
		if filter == "focus" {
			result = "nothing is left to show"
		}
		fmt.Fprintf(stderr, "pyprof: %s: --%s %q matches no function (the names pyprof report shows); %s\n",
			v.cmd, filter, re.String(), result)
	}
}
