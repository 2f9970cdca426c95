package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/pathtail"
	"github.com/pyprof/pyprof/export/view"
)

// DefaultMinShare is the share of the total, in percent, below which
// WriteTree folds calling contexts away by default.
const DefaultMinShare = 1.0

// TreeOptions choose what WriteTree shows.
type TreeOptions struct {
	// Thread keeps only the threads with this name; empty keeps all.
	Thread string
	// Value is the quantity to weigh by; nil means the profile's Default.
	Value *callgraph.Value
	// MinShare folds away, in percent of the total, the calling contexts
	// (and threads) that weigh less; 0 shows every one.
	MinShare float64
	// Idle keeps the idle waiting of pools and event loops where it
	// happened, as Options.Idle does.
	Idle bool
	// Width, when above 0, is the terminal's: files are then shown by the
	// ends of their paths that tell them apart (pool.py:4, a/plugin.py:1),
	// as the exit tree shows them, not by their full paths, which ran
	// lines past 150 columns. 0 keeps full paths, for logs and scripts.
	Width int
}

// WriteTree writes each thread's call tree, heaviest calling context first,
// each line the context's inclusive value, its share of the total, its
// calls when the profile counted them, the function and where it is
// defined. Calls, which nodes count one by one, weigh as the calls made in
// the whole context, as in the table. The contexts folded away under a
// parent are summed on one line, so the tree never hides time silently.
func WriteTree(w io.Writer, p *callgraph.Profile, opts TreeOptions) error {
	v := p.Default
	if opts.Value != nil {
		v = *opts.Value
	}
	if v < 0 || v >= callgraph.NumValues || !p.Has(v) {
		return fmt.Errorf("report: profile has no %s values (has %s)", valueName(v), valueNames(p))
	}
	// One row per function under a caller, as in the flame graph: rows that
	// differed only by a line the tree does not show read as duplicates.
	p = apart(view.MergeLineLeaves(p), v, opts.Idle)
	threads, err := selectThreads(p, opts.Thread)
	if err != nil {
		return err
	}
	t := &treeWriter{p: p, v: v, calls: p.Has(callgraph.Calls), incl: map[*callgraph.Node]int64{}}
	if opts.Width > 0 {
		t.files, t.width = distinctFiles(p), opts.Width
	}
	for _, th := range threads {
		if th.Root == nil {
			continue
		}
		c := collector{p: p}
		for _, n := range th.Root.Children {
			if err := c.check(n); err != nil {
				return fmt.Errorf("report: thread %d (%s): %w", th.ID, th.Name, err)
			}
		}
		t.total += t.inclusive(th.Root)
	}
	t.min = int64(opts.MinShare / 100 * float64(t.total))
	t.foldZero = opts.MinShare > 0
	bw := bufio.NewWriter(w)
	t.w = bw
	fold := "every context shown"
	if opts.MinShare > 0 {
		fold = fmt.Sprintf("contexts under %s%% (%s) folded", raw(opts.MinShare), Human(v, t.min))
	}
	writeWrapped(bw, fmt.Sprintf("Call tree by %s; total %s%s; %s", timeName(v, opts.Idle), glue(Human(v, t.total)), threadNote(opts.Thread), fold), opts.Width)
	if note := gluedIdleNote(v, idleKinds(p, threads, v)); note != "" {
		writeWrapped(bw, note, opts.Width)
	}
	if t.total == 0 {
		// A hybrid run whose sampler read nothing has cpu values, all 0.
		fmt.Fprintf(bw, "\nno %s was recorded\n", valueName(v))
		return flush(bw)
	}
	var folded, foldedSum int64
	for _, th := range threads {
		if th.Root == nil {
			continue
		}
		if w := t.incl[th.Root]; t.folds(w) {
			folded++
			foldedSum += w
			continue
		}
		fmt.Fprintf(bw, "\n%s: %s\n", ThreadTitle(th), Human(v, t.incl[th.Root]))
		t.children(th.Root, "", 1)
	}
	if folded > 0 {
		fmt.Fprintf(bw, "\n%s folded (%s)\n", plural(folded, "smaller thread"), Human(v, foldedSum))
	}
	if t.deepest > maxIndent {
		fmt.Fprintf(bw, "\nindentation stops at depth %d; deeper contexts, down to depth %d, are marked [depth N]\n",
			maxIndent, t.deepest)
	}
	return flush(bw)
}

// maxIndent is the deepest level indented. Each level indents its lines
// by three columns, so a chain of 10,000 calls printed 150 MB, the square
// of its depth; past this level lines keep the same indentation and say
// their depth, so the output grows with the number of contexts alone.
const maxIndent = 32

func flush(bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// treeWriter holds what WriteTree needs while it descends.
type treeWriter struct {
	w     io.Writer
	p     *callgraph.Profile
	v     callgraph.Value
	calls bool
	total int64
	min   int64
	// foldZero folds contexts that weigh nothing, unless every context
	// was asked for: a threshold that rounds to 0 still means "not these".
	foldZero bool
	incl     map[*callgraph.Node]int64
	deepest  int // the depth of the deepest line written
	// files, when set, maps files to the ends of their paths shown.
	files map[string]string
	// width, when above 0, is the terminal's, which rows fit where they
	// can (see fitRow).
	width int
}

// distinctFiles maps every file of p to the end of its path that no other
// file of p ends with.
func distinctFiles(p *callgraph.Profile) map[string]string {
	var files []string
	for _, f := range p.Funcs {
		if f.Filename != "" {
			files = append(files, f.Filename)
		}
	}
	return pathtail.Distinct(files)
}

// folds reports whether a context of weight w is folded away.
func (t *treeWriter) folds(w int64) bool {
	return w < t.min || w == 0 && t.foldZero
}

// inclusive computes, once per node, n's weight: Total[v], or for Calls
// the calls of its whole subtree.
func (t *treeWriter) inclusive(n *callgraph.Node) int64 {
	sum := n.Total[t.v]
	var children int64
	for _, c := range n.Children {
		children += t.inclusive(c)
	}
	if t.v == callgraph.Calls || n.Parent == nil {
		// The synthetic root holds nothing itself: it weighs what its
		// entry frames do.
		sum = n.Total[t.v] + children
	}
	if isIdleFrame(t.p, n) {
		sum = 0 // apart: the header says how much
	}
	t.incl[n] = sum
	return sum
}

// children writes n's children, at depth, heaviest first, each under
// prefix, and one line for those lighter than the threshold.
func (t *treeWriter) children(n *callgraph.Node, prefix string, depth int) {
	kids := slices.DeleteFunc(slices.Clone(n.Children), func(c *callgraph.Node) bool { return isIdleFrame(t.p, c) })
	slices.SortStableFunc(kids, func(a, b *callgraph.Node) int { return cmp.Compare(t.incl[b], t.incl[a]) })
	shown := len(kids)
	for shown > 0 && t.folds(t.incl[kids[shown-1]]) {
		shown--
	}
	var foldedSum int64
	for _, k := range kids[shown:] {
		foldedSum += t.incl[k]
	}
	for i, k := range kids[:shown] {
		last := i == shown-1 && shown == len(kids)
		branch, indent := "├─ ", "│  "
		if last {
			branch, indent = "└─ ", "   "
		}
		t.line(prefix+branch+t.depthTag(depth), k)
		next := prefix
		if depth < maxIndent {
			next += indent
		}
		t.children(k, next, depth+1)
	}
	if folded := len(kids) - shown; folded > 0 {
		fmt.Fprintf(t.w, "%s└─ %s… %d smaller (%s)\n", prefix, t.depthTag(depth), folded, Human(t.v, foldedSum))
	}
}

// depthTag names the depth of lines past maxIndent, which no longer show
// it by their indentation.
func (t *treeWriter) depthTag(depth int) string {
	if depth <= maxIndent {
		return ""
	}
	t.deepest = max(t.deepest, depth)
	return fmt.Sprintf("[depth %d] ", depth)
}

// line writes one calling context.
func (t *treeWriter) line(lead string, n *callgraph.Node) {
	f := t.p.Funcs[n.Func]
	calls := ""
	if t.calls && countsCalls(f, n.Total[callgraph.Calls]) {
		calls = " ×" + exactCount(n.Total[callgraph.Calls])
	}
	where := ""
	if f.Filename != "" {
		if short, ok := t.files[f.Filename]; ok {
			f.Filename = short
		}
		where = "  " + Printable(location(f))
	}
	if len(n.Children) == 0 && n.SelfLine != 0 && n.SelfLine != int32(f.StartLine) {
		// A sampled leaf: the line it was executing.
		where += fmt.Sprintf(" at line %d", n.SelfLine)
	}
	head := fmt.Sprintf("%s%s %s  ", lead, Human(t.v, t.incl[n]), sharePercent(t.incl[n], t.total))
	name := Printable(f.Name)
	if t.width > 0 {
		name, where = t.fitRow(head, name, calls, where)
	}
	fmt.Fprintf(t.w, "%s%s%s%s\n", head, name, calls, where)
}

// minTreeName is the fewest columns a tree row cuts a function's name to.
const minTreeName = 20

// fitRow fits a row of the tree into the terminal's width where the
// indentation leaves room: the location goes when the name would get fewer
// than minTreeName columns beside it, then the name is cut from the left,
// so that its own end stays. A row indented past the width wraps.
func (t *treeWriter) fitRow(head, name, calls, where string) (string, string) {
	room := t.width - Columns(head) - Columns(calls)
	if Columns(name)+Columns(where) <= room {
		return name, where
	}
	if room-Columns(where) < minTreeName {
		where = ""
	}
	return shortenName(name, max(room-Columns(where), minTreeName)), where
}

// ThreadTitle names a thread in the trees: its name (escaped), its id and
// the process's when there are several.
func ThreadTitle(th *callgraph.Thread) string {
	name := th.Name
	if name == "" {
		name = "thread"
	}
	s := fmt.Sprintf("%s (%d", Printable(name), th.ID)
	if th.PID != 0 {
		s += fmt.Sprintf(", pid %d", th.PID)
	}
	return s + ")"
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
