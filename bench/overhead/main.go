package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
)

//go:embed doc.go
var docSource string

// errUsage marks a bad command line: exit status 2.
var errUsage = errors.New("usage")

func main() {
	if r := activeRole(); r != nil {
		os.Exit(r.run())
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command; main only picks the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, manual())
		return 0
	}
	if err == nil && cfg.load != "" {
		err = reprint(cfg.load, cfg.format, cfg.stat, stdout)
	} else if err == nil {
		err = execute(cfg, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "overhead:", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// execute resolves the interpreters and the binary, then measures.
func execute(cfg *config, stdout, stderr io.Writer) error {
	pythons, err := resolvePythons(cfg.pythons)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "pyprof-overhead-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	built := ""
	if cfg.pyprof == "" && cfg.needsPyprof() {
		built = describeTree(cfg.root)
		if cfg.pyprof, err = buildPyprof(cfg.root, tmp, stderr); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	r := &runner{cfg: cfg, tmp: tmp, log: stderr, rng: rand.New(rand.NewPCG(cfg.seed, 0)), self: self}
	rep := &report{Seed: cfg.seed, Rounds: cfg.rounds, Dir: cfg.dir, Pyprof: cfg.pyprof, Built: built, Command: cfg.command}
	for _, py := range pythons {
		if err := r.measure(py, rep); err != nil {
			return err
		}
	}
	if cfg.save != "" {
		if err := rep.save(cfg.save); err != nil {
			return err
		}
	}
	return rep.write(stdout, cfg.format)
}

// measure runs what --measure asks for with one interpreter.
func (r *runner) measure(py *python, rep *report) error {
	fmt.Fprintf(r.log, "overhead: %s (Python %s), seed %d\n", py.path, py.version, r.cfg.seed)
	if r.cfg.measures[measureOverhead] {
		t, err := r.overhead(py)
		if err != nil {
			return err
		}
		rep.Tables = append(rep.Tables, t)
	}
	if r.cfg.measures[measureStartup] {
		s, err := r.startup(py)
		if err != nil {
			return err
		}
		rep.Startups = append(rep.Startups, s)
	}
	if r.cfg.measures[measureScale] {
		s, err := r.scale(py)
		if err != nil {
			return err
		}
		rep.Scales = append(rep.Scales, s)
	}
	if r.cfg.measures[measureInstructions] {
		res, err := r.instructions(py)
		if err != nil {
			return err
		}
		rep.Instructions = append(rep.Instructions, res)
	}
	return nil
}

// manual is doc.go's comment as plain text: one text for godoc and -help.
func manual() string {
	var b strings.Builder
	for _, line := range strings.Split(docSource, "\n") {
		if !strings.HasPrefix(line, "//") {
			continue
		}
		line = strings.TrimPrefix(strings.TrimPrefix(line, "//"), " ")
		b.WriteString(line + "\n")
	}
	return b.String()
}
