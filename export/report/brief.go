package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/pathtail"
	"github.com/pyprof/pyprof/export/view"
)

// Defaults of BriefOptions.
const (
	DefaultBriefLines    = 24
	DefaultBriefMinShare = 2.0
)

// DefaultWidth is the columns lines are fitted to when the terminal's
// width is unknown (not a terminal, or one that says 0): 80, the width
// terminals open at.
const DefaultWidth = 80

// minBriefName is the fewest columns a row of the brief tree cuts a name
// to before it drops what follows the name but the calls; minCutName the
// fewest it cuts a name to at all.
const (
	minBriefName = 16
	minCutName   = 8
)

// BriefOptions shape the call tree WriteBrief prints.
type BriefOptions struct {
	// Lines bounds the tree's lines; 0 means DefaultBriefLines.
	Lines int
	// MinShare hides, in percent of the total, the lighter contexts; 0
	// means DefaultBriefMinShare.
	MinShare float64
	// Width is the terminal's width in columns; 0 means DefaultWidth.
	// Every line fits it but one naming a command or path longer than it,
	// which would not paste cut.
	Width int
	// Threads is the number of threads the header names, when the
	// profile's threads stand for more (threads grouped into one); 0
	// means the profile's.
	Threads int
	// Title names a thread on the first line of its tree; nil means
	// ThreadTitle. A thread that stands for a group of threads is named so.
	Title func(*callgraph.Thread) string
	// Idle keeps the idle waiting of pools and event loops where it
	// happened, as Options.Idle does.
	Idle bool
	// WholeTree is the line that says where the whole tree is, printed
	// when the tree is cut; "" says `pyprof report --tree`.
	WholeTree string
}

// WriteBrief writes the call tree to read at a glance, the one record
// prints at exit: each thread's heaviest calling contexts by the profile's
// default value with their calls as counted, library frames that only
// lead somewhere folded (see node), imports in a row per package or one
// in all (view.GroupImports), every line fitted to the width, one screen
// at most.
func WriteBrief(w io.Writer, p *callgraph.Profile, opts BriefOptions) error {
	p = view.GroupImports(apart(view.MergeLineLeaves(p), p.Default, opts.Idle), p.Default, isLibrary)
	b := &brief{p: p, v: p.Default, calls: p.Has(callgraph.Calls), incl: map[*callgraph.Node]int64{}, opts: opts.withDefaults(), files: programFiles(p)}
	threads := slices.Clone(p.Threads)
	for _, th := range threads {
		if th.Root != nil {
			b.total += b.inclusive(th.Root)
		}
	}
	slices.SortStableFunc(threads, func(x, y *callgraph.Thread) int { return cmp.Compare(b.incl[y.Root], b.incl[x.Root]) })
	bw := bufio.NewWriter(w)
	b.w = bw
	b.min = int64(b.opts.MinShare / 100 * float64(b.total))
	b.wrapped(b.header(len(threads)))
	if note := gluedIdleNote(b.v, idleKinds(p, threads, b.v)); note != "" {
		b.wrapped(note)
	}
	if b.total == 0 {
		fmt.Fprintf(bw, "no %s was recorded\n", valueName(b.v))
		return flush(bw)
	}
	var rest []*callgraph.Thread
	for _, th := range threads {
		if th.Root == nil || b.incl[th.Root] < b.min || b.lines >= b.opts.Lines-1 {
			rest = append(rest, th)
			continue
		}
		b.threadLine(th)
		b.children(th.Root, "  ")
	}
	if len(rest) > 0 {
		var sum int64
		for _, th := range rest {
			sum += b.incl[th.Root]
		}
		fmt.Fprintf(bw, "… %d more %s (%s)\n", len(rest), pluralWord(len(rest), "thread"), Human(b.v, sum))
	}
	if b.cut {
		b.wrapped(glueQuoted(cmp.Or(opts.WholeTree, "… cut to a screen: the whole tree is in `pyprof report --tree`")))
	}
	return flush(bw)
}

// threadLine writes the first line of th's tree: its title, cut to the
// width if need be, and its value.
func (b *brief) threadLine(th *callgraph.Thread) {
	title := ThreadTitle
	if b.opts.Title != nil {
		title = b.opts.Title
	}
	value := " " + Human(b.v, b.incl[th.Root])
	b.out(keepLeft(title(th), b.opts.Width-Columns(value), "..") + value)
}

// header says what the tree shows, its clauses kept whole when it wraps.
func (b *brief) header(threads int) string {
	s := "Where the time went: " + glue(fmt.Sprintf("%s %s in %s", Human(b.v, b.total), timeName(b.v, b.opts.Idle),
		plural(int64(cmp.Or(b.opts.Threads, threads)), "thread")))
	if b.calls {
		s += ", " + glue("calls exact")
	}
	return s + " " + glue(fmt.Sprintf("(under %s%% not shown)", raw(b.opts.MinShare)))
}

// wrapped writes text that is not a row of the tree, wrapped to the width.
func (b *brief) wrapped(text string) {
	for _, line := range wrap(text, b.opts.Width, "  ") {
		fmt.Fprintln(b.w, line)
	}
}

// glueQuoted glues the words of each `command` in s, which would not
// paste cut in two.
func glueQuoted(s string) string {
	parts := strings.Split(s, "`")
	for i := 1; i < len(parts); i += 2 {
		parts[i] = glue(parts[i])
	}
	return strings.Join(parts, "`")
}

type brief struct {
	w     *bufio.Writer
	p     *callgraph.Profile
	v     callgraph.Value
	calls bool
	opts  BriefOptions
	total int64
	min   int64
	lines int
	cut   bool
	incl  map[*callgraph.Node]int64
	// files maps the program's files to the ends of their paths that
	// tell them apart: rows show where the program's functions are.
	files map[string]string
}

// programFiles maps the files of the program's own functions to the ends
// of their paths that tell them apart: plugin.py, or a/plugin.py and
// b/plugin.py when two folders have one.
func programFiles(p *callgraph.Profile) map[string]string {
	var files []string
	for _, f := range p.Funcs {
		if f.Filename != "" && !isLibrary(f) {
			files = append(files, f.Filename)
		}
	}
	return pathtail.Distinct(files)
}

func (o BriefOptions) withDefaults() BriefOptions {
	if o.Lines <= 0 {
		o.Lines = DefaultBriefLines
	}
	if o.MinShare <= 0 {
		o.MinShare = DefaultBriefMinShare
	}
	if o.Width <= 0 {
		o.Width = DefaultWidth
	}
	return o
}

// inclusive is treeWriter.inclusive: calls summed over the subtree.
func (b *brief) inclusive(n *callgraph.Node) int64 {
	sum := n.Total[b.v]
	var children int64
	for _, c := range n.Children {
		children += b.inclusive(c)
	}
	if b.v == callgraph.Calls || n.Parent == nil {
		sum = n.Total[b.v] + children
	}
	if isIdleFrame(b.p, n) {
		sum = 0 // apart: the header says how much
	}
	b.incl[n] = sum
	return sum
}

// heavy returns n's children over the threshold, heaviest first.
func (b *brief) heavy(n *callgraph.Node) []*callgraph.Node {
	var out []*callgraph.Node
	for _, c := range n.Children {
		if b.incl[c] >= b.min && b.incl[c] > 0 {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(x, y *callgraph.Node) int { return cmp.Compare(b.incl[y], b.incl[x]) })
	return out
}

func (b *brief) children(n *callgraph.Node, indent string) {
	for _, c := range b.heavy(n) {
		if b.lines >= b.opts.Lines {
			b.cut = true
			return
		}
		b.node(c, indent)
	}
}

// node writes c, folding the library frames that only lead somewhere: a
// run of them that leads to the program's code (a callback, a worker's
// task) or starts a thread is a note on the row of where it ends, and one
// that the program's code called and that ends in the library (json.loads
// down to the scanner in C) is a row of its entry point, the function the
// program called, with a note naming where the run ends, whose callees
// follow.
func (b *brief) node(c *callgraph.Node, indent string) {
	f := b.p.Funcs[c.Func]
	if isModuleBody(f, c, b.p) {
		// An import's own module code: the import frame names it.
		b.children(c, indent)
		return
	}
	if !b.folds(c) {
		b.line(c, f, indent, nil)
		b.children(c, indent+"  ")
		return
	}
	chain := b.foldedChain(c)
	end := chain[len(chain)-1]
	passed := b.names(chain[:len(chain)-1])
	// A run that starts a thread (threading's bootstrap) was called by no
	// code of the program's: the row is where it ends.
	startsThread := c.Parent != nil && c.Parent.Parent == nil
	if endFunc := b.p.Funcs[end.Func]; !isLibrary(endFunc) || startsThread {
		b.line(end, endFunc, indent, []string{
			fmt.Sprintf("[%s via %s]", plural(int64(len(passed)), "frame"), modules(passed)),
			fmt.Sprintf("[%s]", plural(int64(len(passed)), "frame")),
		})
		b.children(end, indent+"  ")
		return
	}
	b.line(c, f, indent, intoNote(passed[1:], Printable(b.p.Funcs[end.Func].Name)))
	b.children(end, indent+"  ")
}

// folds reports whether c is a library frame that only leads somewhere:
// one heavy callee, and too little time of its own to show.
func (b *brief) folds(c *callgraph.Node) bool {
	return isLibrary(b.p.Funcs[c.Func]) && len(b.heavy(c)) == 1 && b.self(c) < b.min
}

// foldedChain is c and the frames it leads to while they fold, ending
// with the first that does not.
func (b *brief) foldedChain(c *callgraph.Node) []*callgraph.Node {
	chain := []*callgraph.Node{c}
	for b.folds(c) {
		c = b.heavy(c)[0]
		chain = append(chain, c)
	}
	return chain
}

func (b *brief) names(nodes []*callgraph.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, b.p.Funcs[n.Func].Name)
	}
	return out
}

// intoNote says where a run of library frames entered by the row's
// function ends, and through how many frames of which modules, from the
// longest form to the shortest that still names the end.
func intoNote(between []string, end string) []string {
	if len(between) == 0 {
		return []string{"[to " + end + "]"}
	}
	n := plural(int64(len(between)), "frame")
	return []string{
		fmt.Sprintf("[to %s via %s in %s]", end, n, modules(between)),
		fmt.Sprintf("[to %s via %s]", end, n),
		"[to " + end + "]",
	}
}

func (b *brief) self(n *callgraph.Node) int64 {
	s := b.incl[n]
	for _, c := range n.Children {
		s -= b.incl[c]
	}
	return s
}

// line writes one context: inclusive value, share, name, calls, where.
// line writes one context: inclusive value, share, name, calls, where,
// and the note on the frames folded into it, given longest first.
func (b *brief) line(n *callgraph.Node, f callgraph.Func, indent string, note []string) {
	calls := ""
	if b.calls && n.Total[callgraph.Calls] > 0 && countsCalls(f, n.Total[callgraph.Calls]) {
		calls = "×" + exactCount(n.Total[callgraph.Calls])
	}
	var extra [][]string
	if f.Filename != "" && !isLibrary(f) && !strings.HasPrefix(f.Name, "import ") {
		extra = append(extra, []string{b.files[f.Filename] + strings.TrimPrefix(location(f), f.Filename)})
	}
	if len(note) > 0 {
		extra = append(extra, note)
	}
	head := fmt.Sprintf("%s%6s %5.1f%%  ", indent, Human(b.v, b.incl[n]), 100*float64(b.incl[n])/float64(b.total))
	b.out(fitRow(head, Printable(f.Name), calls, extra, b.opts.Width))
}

// fitRow lays out a row of the brief tree in width columns. The extra
// parts after the calls (the location, then the note on folded frames)
// are each given in their forms, longest first. Too wide a row first takes
// shorter forms, last part first, while that lets the whole name fit; then
// cuts the name, as shortenName does, down to minBriefName columns; then
// drops extra parts, last first; then cuts the name down to minCutName;
// and what still does not fit is cut at the end. The calls stay whole.
func fitRow(head, name, calls string, extra [][]string, width int) string {
	tail := func() string {
		var parts []string
		if calls != "" {
			parts = append(parts, calls)
		}
		for _, forms := range extra {
			parts = append(parts, forms[0])
		}
		if len(parts) == 0 {
			return ""
		}
		return "  " + strings.Join(parts, "  ")
	}
	fits := func(nameWidth int) bool { return Columns(head)+nameWidth+Columns(tail()) <= width }
	extra = slices.Clone(extra)
	for i := len(extra) - 1; i >= 0 && !fits(Columns(name)); i-- {
		for len(extra[i]) > 1 && !fits(Columns(name)) {
			extra[i] = extra[i][1:]
		}
	}
	for len(extra) > 0 && !fits(min(Columns(name), minBriefName)) {
		last := len(extra) - 1
		if len(extra[last]) > 1 {
			extra[last] = extra[last][1:]
		} else {
			extra = extra[:last]
		}
	}
	rest := tail()
	name = shortenName(name, max(width-Columns(head)-Columns(rest), minCutName))
	return keepLeft(head+name+rest, width, "..")
}

func (b *brief) out(s string) {
	fmt.Fprintln(b.w, strings.TrimRight(s, " "))
	b.lines++
}

// modules names the top-level modules of functions, each once, in the
// order met.
func modules(names []string) string {
	var mods []string
	for _, n := range names {
		m, _, _ := strings.Cut(n, ".")
		if !slices.Contains(mods, m) {
			mods = append(mods, m)
		}
	}
	return strings.Join(mods, ", ")
}

// isLibrary reports whether f is code the program did not write: native
// callables, the standard library, installed packages, frozen modules.
func isLibrary(f callgraph.Func) bool {
	if f.Kind == callgraph.KindMarker || strings.HasPrefix(f.Name, view.ImportPrefix) || view.IsGrouping(f) {
		return false
	}
	if f.Kind == callgraph.KindNative || f.Filename == "" {
		return true
	}
	return strings.HasPrefix(f.Filename, "<frozen ") || strings.Contains(f.Filename, "/site-packages/") ||
		strings.Contains(f.Filename, "/dist-packages/") || strings.Contains(f.Filename, "/lib/python3")
}

// shortenName fits a function's name into width columns, as ShortenLeft
// does, and an import frame's name as shortenImport does.
func shortenName(name string, width int) string {
	for _, prefix := range []string{view.ImportPrefix, view.GroupPrefix} {
		if strings.HasPrefix(name, prefix) {
			return shortenImport(name, prefix, width)
		}
	}
	return ShortenLeft(name, width)
}

// shortenImport fits an import frame's name into width columns keeping
// its prefix ("import "), which says what the frame is, and the count of
// modules that ends a grouped one: a dotted module path loses its front
// ("import ..mime.nonmultipart"), as a function's name does; a list of
// modules, or a module told apart by its file (plugin (a/plugin.py)),
// loses its end, and the words before the list of what several imports
// shared go first.
func shortenImport(name, prefix string, width int) string {
	if Columns(name) <= width {
		return name
	}
	body := strings.TrimPrefix(name, prefix)
	suffix := ""
	if i := strings.LastIndex(body, " ("); i > 0 && (strings.HasSuffix(body, " modules)") || strings.HasSuffix(body, " module)")) {
		body, suffix = body[:i], body[i:]
	}
	room := width - Columns(prefix+suffix)
	if room < 4 {
		return keepLeft(name, width, "..")
	}
	if list, ok := strings.CutPrefix(body, "(finding and loading "); ok {
		// What several imports shared: the modules say more than the
		// words before them.
		body = "(" + list
	}
	if strings.Contains(body, ", ") || strings.Contains(body, "(") {
		return prefix + keepLeft(body, room, "..") + suffix
	}
	return prefix + keepRight(body, room, "..") + suffix
}

// ShortenLeft fits name into width terminal columns by cutting the front
// of its dotted module path, so that the function's own name stays
// readable: "json.encoder.JSONEncoder.encode" becomes "..JSONEncoder.encode".
// The cut falls on a dot where one is left to fall on: a name cut inside
// one of its parts ("..se.Executor.map") reads as another name.
func ShortenLeft(name string, width int) string {
	cut := keepRight(name, width, "..")
	if cut == name {
		return cut
	}
	body := strings.TrimPrefix(cut, "..")
	if at := len(name) - len(body); at > 0 && name[at-1] == '.' {
		return cut // cut on a dot already
	}
	if i := strings.IndexByte(body, '.'); i >= 0 && i < len(body)-1 {
		return ".." + body[i+1:]
	}
	return cut
}

// isModuleBody reports whether n is a module's top-level code run by the
// import frame above it.
func isModuleBody(f callgraph.Func, n *callgraph.Node, p *callgraph.Profile) bool {
	return strings.HasSuffix(f.Name, ".<module>") && n.Parent != nil && n.Parent.Parent != nil &&
		strings.HasPrefix(p.Funcs[n.Parent.Func].Name, "import ")
}

// shortenRight fits s into width terminal columns by cutting its end.
func shortenRight(s string, width int) string {
	return keepLeft(s, width, "..")
}

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
