package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// report is everything measured, in the order it is printed.
type report struct {
	Command string `json:"command"`
	Seed    uint64 `json:"seed"`
	Rounds  int    `json:"rounds"`
	Dir     string `json:"dir"`
	Pyprof  string `json:"pyprof"`
	// Built is the commit pyprof was built from, when the harness built it.
	Built    string           `json:"built,omitempty"`
	Tables   []*table         `json:"tables,omitempty"`
	Startups []*startupResult `json:"startup,omitempty"`
	Scales   []*scaleResult   `json:"scale,omitempty"`
	// Instructions are --measure instructions' counts.
	Instructions []*instrResult `json:"instructions,omitempty"`
}

// grid is a table of cells ready to print: the first row is the header.
type grid [][]string

func (rep *report) write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	md := format == "markdown"
	if md {
		fmt.Fprintf(w, "`%s`\n\n", rep.Command)
	} else {
		fmt.Fprintln(w, rep.Command)
	}
	fmt.Fprintf(w, "workloads %s, pyprof %s", rep.Dir, rep.binary())
	if len(rep.Tables) > 0 {
		fmt.Fprintf(w, ", %d rounds, seed %d", rep.Rounds, rep.Seed)
	}
	fmt.Fprintln(w)
	for _, t := range rep.Tables {
		heading(w, md, fmt.Sprintf("Python %s: %s wall seconds, fork to exit (ratio to unprofiled)", t.Version, t.statName()))
		printGrid(w, md, t.timeGrid())
		heading(w, md, fmt.Sprintf("Python %s: %s CPU seconds, user+system of the whole process tree (ratio to unprofiled)", t.Version, t.statName()))
		printGrid(w, md, t.cpuGrid())
		heading(w, md, fmt.Sprintf("Python %s: median peak RSS, MiB (pyprof modes: pyprof or the program, whichever is larger)", t.Version))
		printGrid(w, md, t.memoryGrid())
		t.writeFooter(w, md)
	}
	for _, s := range rep.Startups {
		s.write(w, md)
	}
	for _, s := range rep.Scales {
		s.write(w, md)
	}
	for _, res := range rep.Instructions {
		res.write(w, md)
	}
	return nil
}

// save writes the report as JSON to path, for --load to print again.
func (rep *report) save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	if err := rep.write(f, "json"); err != nil {
		f.Close()
		return fmt.Errorf("--save: %w", err)
	}
	return f.Close()
}

// reprint prints a report saved by --save in another format.
func reprint(path, format, stat string, w io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--load: %w", err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("--load %s: %w", path, err)
	}
	for _, t := range rep.Tables {
		t.compare(stat)
	}
	return rep.write(w, format)
}

// binary names the pyprof measured.
func (rep *report) binary() string {
	if rep.Built != "" {
		return "built from " + rep.Built
	}
	return rep.Pyprof
}

func heading(w io.Writer, md bool, title string) {
	if md {
		fmt.Fprintf(w, "\n#### %s\n\n", title)
		return
	}
	fmt.Fprintf(w, "\n%s\n", title)
}

// printGrid prints cells aligned in columns, or as a Markdown table.
func printGrid(w io.Writer, md bool, g grid) {
	if md {
		for i, cells := range g {
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
			if i == 0 {
				fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(cells)))
			}
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cells := range g {
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
}

func (t *table) timeGrid() grid {
	comps := comparisonsFor(t.Modes)
	head := columns([]string{"workload", "args"}, t.Modes, comps)
	hasRun := slices.Contains(t.Modes, pyprofMode)
	if hasRun {
		head = append(head, "pyprof run")
	}
	g := grid{append(head, "spread")}
	for _, r := range t.Rows {
		cells := []string{r.Workload, strings.Join(r.Args, " ")}
		for _, m := range t.Modes {
			cells = append(cells, timeCell(r.Modes[m], m))
		}
		for _, c := range comps {
			cells = append(cells, fmt.Sprintf("%.2f", r.Compared[c.String()]))
		}
		if hasRun {
			cells = append(cells, fmt.Sprintf("%.3f", r.Modes[pyprofMode].RunSeconds))
		}
		g = append(g, append(cells, fmt.Sprintf("%.0f%%", 100*r.Spread)))
	}
	return append(g, t.geomeanCells(comps, hasRun))
}

// columns is a table's header: first, then the modes, then the
// comparisons.
func columns(first []string, modes []mode, comps []comparison) []string {
	head := slices.Clone(first)
	for _, m := range modes {
		head = append(head, m.label())
	}
	for _, c := range comps {
		head = append(head, c.String())
	}
	return head
}

func timeCell(s *modeStats, m mode) string {
	if s.Ratio == 0 || m == unprofiled {
		return fmt.Sprintf("%.3f", s.Seconds)
	}
	return fmt.Sprintf("%.3f (%.2fx)", s.Seconds, s.Ratio)
}

func (t *table) geomeanCells(comps []comparison, hasRun bool) []string {
	cells := []string{"geomean", ""}
	for _, m := range t.Modes {
		if r := t.Geomean.Ratio[m]; r > 0 && m != unprofiled {
			cells = append(cells, fmt.Sprintf("(%.2fx)", r))
		} else {
			cells = append(cells, "")
		}
	}
	for _, c := range comps {
		cells = append(cells, fmt.Sprintf("%.2f", t.Geomean.Compared[c.String()]))
	}
	if hasRun {
		cells = append(cells, "")
	}
	return append(cells, "")
}

// statName says which run of each cell the table shows.
func (t *table) statName() string {
	if t.Stat == statMin {
		return "fastest"
	}
	return "median"
}

// cpuGrid compares CPU time: on a busy machine it moves less than wall
// time, and it charges pyprof's consumer, which runs on another core.
func (t *table) cpuGrid() grid {
	comps := comparisonsFor(t.Modes)
	g := grid{columns([]string{"workload"}, t.Modes, comps)}
	ratios := make([][]float64, len(t.Modes)+len(comps))
	for _, r := range t.Rows {
		cells := []string{r.Workload}
		for i, m := range t.Modes {
			ratio := r.cpuRatio(m, unprofiled)
			ratios[i] = append(ratios[i], ratio)
			cells = append(cells, cpuCell(r.Modes[m].CPUSeconds, ratio, m))
		}
		for i, c := range comps {
			ratio := r.cpuRatio(c.num, c.den)
			ratios[len(t.Modes)+i] = append(ratios[len(t.Modes)+i], ratio)
			cells = append(cells, fmt.Sprintf("%.2f", ratio))
		}
		g = append(g, cells)
	}
	cells := []string{"geomean"}
	for i, rs := range ratios {
		switch {
		case i < len(t.Modes) && (t.Modes[i] == unprofiled || geomeanOf(rs) == 0):
			cells = append(cells, "")
		case i < len(t.Modes):
			cells = append(cells, fmt.Sprintf("(%.2fx)", geomeanOf(rs)))
		default:
			cells = append(cells, fmt.Sprintf("%.2f", geomeanOf(rs)))
		}
	}
	return append(g, cells)
}

// cpuRatio is the CPU time of mode num over that of den, 0 if either
// did not run.
func (r *row) cpuRatio(num, den mode) float64 {
	a, b := r.Modes[num], r.Modes[den]
	if a == nil || b == nil || b.CPUSeconds == 0 {
		return 0
	}
	return a.CPUSeconds / b.CPUSeconds
}

func cpuCell(seconds, ratio float64, m mode) string {
	if ratio == 0 || m == unprofiled {
		return fmt.Sprintf("%.3f", seconds)
	}
	return fmt.Sprintf("%.3f (%.2fx)", seconds, ratio)
}

func (t *table) memoryGrid() grid {
	head := []string{"workload"}
	for _, m := range t.Modes {
		head = append(head, m.label())
	}
	g := grid{head}
	for _, r := range t.Rows {
		cells := []string{r.Workload}
		for _, m := range t.Modes {
			cells = append(cells, mib(r.Modes[m].MaxRSSMedian))
		}
		g = append(g, cells)
	}
	return g
}

// mib prints a size in KiB as MiB.
func mib(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

// writeFooter prints the overhead targets and pyprof's notices.
func (t *table) writeFooter(w io.Writer, md bool) {
	writeVerdicts(w, md, "Overhead targets, Python "+t.Version, t.targets(), t.Notices)
}

// writeVerdicts prints targets, met or not, under title, then notices.
func writeVerdicts(w io.Writer, md bool, title string, targets []verdict, notices []string) {
	bullet := "  "
	if md {
		bullet = "- "
	}
	if len(targets) > 0 {
		fmt.Fprintf(w, "\n%s:\n", title)
		if md {
			fmt.Fprintln(w)
		}
	}
	for _, v := range targets {
		state := "MET"
		if !v.Met {
			state = "NOT MET"
		}
		fmt.Fprintf(w, "%s%s: %s (%s)\n", bullet, v.Target, state, v.Detail)
	}
	for _, n := range notices {
		fmt.Fprintf(w, "%snotice: %s\n", bullet, n)
	}
}
