package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

var errHelp = errors.New("help requested")

// What --measure can ask for.
const (
	measureOverhead = "overhead"
	measureStartup  = "startup"
	measureScale    = "scale"
	// measureInstructions counts instead of timing; "all" leaves it out:
	// under valgrind it takes many times longer than the rest.
	measureInstructions = "instructions"
)

// config is the command line, checked.
type config struct {
	root       string // the module's root folder
	dir        string
	workloads  []string
	pythons    []string
	rounds     int
	pyprof     string
	modes      []mode
	args       map[string][]string
	format     string
	stat       string
	seed       uint64
	measures   map[string]bool
	scale      scaleSpec
	scaleLimit uint64
	timeout    time.Duration
	command    string // how the harness was started, for the report
	save       string // also write the JSON report here
	load       string // print this saved JSON report instead of measuring
}

// scaleSpec is --scale: one workload at two sizes.
type scaleSpec struct {
	Workload string
	Sizes    [2]string
}

func parseFlags(args []string) (*config, error) {
	c := &config{command: strings.TrimSpace("go run ./bench/overhead " + strings.Join(args, " "))}
	fs := pflag.NewFlagSet("overhead", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var modes, measures, argList []string
	var scale, limit string
	var help bool
	fs.StringVar(&c.dir, "dir", "", "")
	fs.StringSliceVar(&c.workloads, "workloads", nil, "")
	fs.StringSliceVar(&c.pythons, "python", []string{"python3.12"}, "")
	fs.IntVar(&c.rounds, "rounds", 5, "")
	fs.StringVar(&c.pyprof, "pyprof", "", "")
	fs.StringSliceVar(&modes, "modes", []string{"unprofiled", "cprofile", "pyprof", "null"}, "")
	fs.StringSliceVar(&argList, "args", nil, "")
	fs.StringVar(&c.format, "format", "text", "")
	fs.StringVar(&c.stat, "stat", statMedian, "")
	fs.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()), "")
	fs.StringSliceVar(&measures, "measure", []string{measureOverhead}, "")
	fs.StringVar(&scale, "scale", "", "")
	fs.StringVar(&limit, "scale-limit", "4GiB", "")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "")
	fs.StringVar(&c.save, "save", "", "")
	fs.StringVar(&c.load, "load", "", "")
	fs.BoolVarP(&help, "help", "h", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v (see --help)", errUsage, err)
	}
	if help {
		return nil, errHelp
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q (see --help)", errUsage, fs.Arg(0))
	}
	return c, c.check(modes, measures, argList, scale, limit)
}

// check validates every flag, so that nothing runs for nothing.
func (c *config) check(modes, measures, argList []string, scale, limit string) error {
	var err error
	if c.rounds < 1 {
		return fmt.Errorf("%w: --rounds %d: want at least 1", errUsage, c.rounds)
	}
	if !slices.Contains([]string{"text", "markdown", "json"}, c.format) {
		return fmt.Errorf("%w: --format %s: use text, markdown or json", errUsage, c.format)
	}
	if c.stat != statMedian && c.stat != statMin {
		return fmt.Errorf("%w: --stat %s: use median or min", errUsage, c.stat)
	}
	if c.load != "" {
		return nil // printing a saved report measures nothing
	}
	if c.modes, err = parseModes(modes); err != nil {
		return err
	}
	if c.measures, err = parseMeasures(measures); err != nil {
		return err
	}
	if c.args, err = parseArgs(argList); err != nil {
		return err
	}
	if c.scaleLimit, err = parseSize(limit); err != nil {
		return err
	}
	if err := c.locate(); err != nil {
		return err
	}
	c.scale, err = parseScale(scale, c.dir)
	return err
}

// locate finds the module root and the workload folder.
func (c *config) locate() error {
	root, err := moduleRoot()
	if err != nil && (c.dir == "" || c.pyprof == "" && c.needsPyprof()) {
		return fmt.Errorf("%w: %v; pass --dir and --pyprof", errUsage, err)
	}
	c.root = root
	if c.dir == "" {
		c.dir = filepath.Join(root, "bench", "workloads")
	}
	if c.dir, err = filepath.Abs(c.dir); err != nil {
		return err
	}
	if info, err := os.Stat(c.dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%w: --dir %s is not a folder", errUsage, c.dir)
	}
	return nil
}

// needsPyprof reports whether anything asked for runs pyprof.
func (c *config) needsPyprof() bool {
	if c.measures[measureStartup] || c.measures[measureScale] {
		return true
	}
	return slices.ContainsFunc(c.modes, func(m mode) bool { return m.usesPyprof() })
}

func parseMeasures(list []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, m := range list {
		switch m {
		case measureOverhead, measureStartup, measureScale:
			out[m] = true
		case measureInstructions:
			if _, err := exec.LookPath("valgrind"); err != nil {
				return nil, fmt.Errorf("%w: --measure instructions counts with valgrind, which is not on PATH: install it (apt-get install valgrind)", errUsage)
			}
			out[m] = true
		case "all":
			out[measureOverhead], out[measureStartup], out[measureScale] = true, true, true
		default:
			return nil, fmt.Errorf("%w: --measure %s: use overhead, startup, scale, instructions or all", errUsage, m)
		}
	}
	return out, nil
}

// parseArgs reads --args NAME=ARGS; ARGS splits on white space.
func parseArgs(list []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, a := range list {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: --args %s: want NAME=ARGS, such as fib.py=27", errUsage, a)
		}
		out[name] = strings.Fields(value)
	}
	return out, nil
}

// parseScale reads --scale NAME=A,B; empty picks fib.py=32,37 when dir has
// fib.py and recursion.py=8,10 (bench's own, 9x the calls) otherwise.
func parseScale(s, dir string) (scaleSpec, error) {
	if s == "" {
		s = "recursion.py=8,10"
		if _, err := os.Stat(filepath.Join(dir, "fib.py")); err == nil {
			s = "fib.py=32,37"
		}
	}
	name, sizes, ok := strings.Cut(s, "=")
	small, large, ok2 := strings.Cut(sizes, ",")
	if !ok || !ok2 || name == "" || small == "" || large == "" {
		return scaleSpec{}, fmt.Errorf("%w: --scale %s: want NAME=SMALL,LARGE, such as fib.py=32,37", errUsage, s)
	}
	return scaleSpec{Workload: name, Sizes: [2]string{small, large}}, nil
}

// parseSize reads sizes like 4GiB, 512MiB or a number of bytes.
func parseSize(text string) (uint64, error) {
	s, mult := text, uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: --scale-limit %s: want a size such as 4GiB", errUsage, text)
	}
	return n * mult, nil
}
