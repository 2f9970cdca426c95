package view

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
)

// GroupPrefix starts the name of the frame GroupImports makes of several
// imports: "imports: json, logging, 2 more (57 modules)".
const GroupPrefix = "imports: "

// GroupImports returns a copy of p, made after FoldImports, whose imports
// take the few rows a reading at a glance can spare them (record's exit
// tree), its frames and the values of every calling context as they were:
//
//   - an import frame holds the imports of its own package's modules made
//     while it ran: "import asyncio (12 modules)" for asyncio and the
//     asyncio.* modules it loaded;
//   - the imports of other packages made while it ran are its children,
//     each holding every import made while it ran in turn
//     ("import logging (9 modules)"), so that import frames nest one level;
//   - a library module's top-level code is its import's time; the top-level
//     code of the program's own modules (library says which are not) keeps
//     its frames, with the imports made from it;
//   - where the import frames under a caller are together a minority of
//     its value v (a program whose imports take less than half its time),
//     each holds every import made while it ran, and two or more are one
//     frame, GroupPrefix, naming the heaviest.
//
// p is left alone: it has been written already.
func GroupImports(p *callgraph.Profile, v callgraph.Value, library func(callgraph.Func) bool) *callgraph.Profile {
	q := *p
	q.Funcs = slices.Clip(slices.Clone(p.Funcs))
	q.Threads = make([]*callgraph.Thread, len(p.Threads))
	g := &grouper{p: &q, v: v, library: library, tree: newTree(), ids: map[string]callgraph.FuncID{}, loaded: map[*callgraph.Node]int{}}
	for i, th := range p.Threads {
		t := *th
		if th.Root != nil {
			t.Root = &callgraph.Node{Total: th.Root.Total, SelfLine: th.Root.SelfLine}
			g.copyChildren(t.Root, th.Root)
		}
		q.Threads[i] = &t
	}
	return &q
}

type grouper struct {
	p       *callgraph.Profile
	v       callgraph.Value
	library func(callgraph.Func) bool
	tree    *tree
	ids     map[string]callgraph.FuncID
	// loaded is the modules each import frame made stands for, the
	// imports of other packages below it included.
	loaded map[*callgraph.Node]int
}

// copyChildren copies src's children under dst, each import among them
// the top of a group. When those imports are a minority of src's value,
// each holds every import made while it ran, and several are one frame.
func (g *grouper) copyChildren(dst, src *callgraph.Node) {
	var imports []*callgraph.Node
	for _, c := range src.Children {
		if g.isImport(c) {
			imports = append(imports, c)
			continue
		}
		n := &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Total: c.Total}
		g.copyChildren(n, c)
		g.add(dst, n)
	}
	minority := g.minority(src, imports)
	var frames []*callgraph.Node
	for _, c := range imports {
		frames = append(frames, g.importFrame(c, !minority))
	}
	if minority && len(frames) > 1 {
		frames = []*callgraph.Node{g.merged(frames)}
	}
	for _, n := range frames {
		g.add(dst, n)
	}
}

// add makes n a child of dst as it was, never merged into a sibling: the
// frames a thread's root holds apart (each pool worker's idle waiting in
// a group of threads) stay apart.
func (g *grouper) add(dst, n *callgraph.Node) {
	n.Parent = dst
	dst.Children = append(dst.Children, n)
}

// minority reports whether imports weigh less than half of what src
// holds: its own value, or for a thread's root, which holds nothing
// itself, its children's but the idle waiting FoldIdle put apart.
func (g *grouper) minority(src *callgraph.Node, imports []*callgraph.Node) bool {
	if len(imports) == 0 || g.v == callgraph.Calls {
		return false
	}
	whole := src.Total[g.v]
	if src.Parent == nil {
		whole = 0
		for _, c := range src.Children {
			if !IsIdle(g.p.Funcs[c.Func]) {
				whole += c.Total[g.v]
			}
		}
	}
	var sum int64
	for _, n := range imports {
		sum += n.Total[g.v]
	}
	return 2*sum < whole
}

// merged is one frame for imports: their values summed, no calls (it
// stands for no call), named for the heaviest few and the modules in all.
func (g *grouper) merged(imports []*callgraph.Node) *callgraph.Node {
	slices.SortStableFunc(imports, func(a, b *callgraph.Node) int { return cmp.Compare(b.Total[g.v], a.Total[g.v]) })
	out := &callgraph.Node{CallLine: imports[0].CallLine}
	var names []string
	modules := 0
	for _, n := range imports {
		for v := range out.Total {
			if callgraph.Value(v) != callgraph.Calls {
				out.Total[v] += n.Total[v]
			}
		}
		modules += g.loaded[n]
		if mods, _ := importedModules(g.p.Funcs[n.Func]); len(mods) > 0 && !slices.Contains(names, mods[0]) {
			names = append(names, mods[0])
		}
	}
	list := strings.Join(names, ", ")
	if len(names) > maxNamedModules {
		list = strings.Join(names[:maxNamedModules], ", ") + ", " + strconv.Itoa(len(names)-maxNamedModules) + " more"
	}
	out.Func = g.funcFor(fmt.Sprintf("%s%s (%s)", GroupPrefix, list, moduleCount(modules)), "", callgraph.KindNative)
	return out
}

// importFrame copies the import frame c with what it holds (see
// GroupImports); top is false for an import of another package made
// while an import ran, which holds every import made while it ran.
func (g *grouper) importFrame(c *callgraph.Node, top bool) *callgraph.Node {
	f := g.p.Funcs[c.Func]
	mods, count := importedModules(f)
	pkg := ""
	if len(mods) > 0 {
		pkg = topLevel(mods[0])
	}
	out := &callgraph.Node{CallLine: c.CallLine, SelfLine: c.SelfLine, Total: c.Total}
	count += g.absorb(out, c, pkg, top)
	out.Func = c.Func
	if count > 1 {
		out.Func = g.funcFor(fmt.Sprintf("%s (%s)", f.Name, moduleCount(count)), f.Filename, f.Kind)
	}
	g.loaded[out] = count
	for _, k := range out.Children {
		g.loaded[out] += g.loaded[k]
	}
	return out
}

// absorb folds what the import frame src holds into dst, the frame that
// stands for it, and returns how many modules it folded in: the imports
// it holds, as importFrame says, with the library's code they ran (its
// modules' top-level code, the import hooks it installed). The program's
// own code keeps its frames.
func (g *grouper) absorb(dst, src *callgraph.Node, pkg string, top bool) int {
	count := 0
	for _, c := range src.Children {
		f := g.p.Funcs[c.Func]
		switch {
		case !g.isImport(c) && g.library(f):
			count += g.absorb(dst, c, pkg, top)
		case !g.isImport(c):
			n := &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Total: c.Total}
			g.copyChildren(n, c)
			g.tree.attach(dst, n)
		case !top || g.samePackage(c, pkg):
			_, n := importedModules(f)
			count += n + g.absorb(dst, c, pkg, top)
		default:
			g.tree.attach(dst, g.importFrame(c, false))
		}
	}
	return count
}

// samePackage reports whether the import frame c belongs with an import
// of pkg: its module is pkg's, or it names no module (what imports
// shared, an extension module).
func (g *grouper) samePackage(c *callgraph.Node, pkg string) bool {
	mods, _ := importedModules(g.p.Funcs[c.Func])
	return len(mods) == 0 || topLevel(mods[0]) == pkg
}

// isImport reports whether n is a frame FoldImports made.
func (g *grouper) isImport(n *callgraph.Node) bool {
	f := g.p.Funcs[n.Func]
	return strings.HasPrefix(f.Name, ImportPrefix) || IsGrouping(f)
}

func (g *grouper) funcFor(name, file string, kind callgraph.FuncKind) callgraph.FuncID {
	key := name + "\x00" + file
	if id, ok := g.ids[key]; ok {
		return id
	}
	id := g.p.AddFunc(callgraph.Func{Name: name, Filename: file, Kind: kind})
	g.ids[key] = id
	return id
}

// importedModules reads the modules an import frame's name gives and how
// many it stands for: "import a, b, 3 more" gives a and b and 5; a frame
// of what imports shared, or of the machinery, none and 0; an extension
// module none and 1.
func importedModules(f callgraph.Func) ([]string, int) {
	body, ok := strings.CutPrefix(f.Name, ImportPrefix)
	switch {
	case !ok || IsGrouping(f):
		return nil, 0
	case strings.HasPrefix(body, "("):
		return nil, 1
	}
	var mods []string
	count := 0
	for _, m := range strings.Split(body, ", ") {
		if more, ok := strings.CutSuffix(m, " more"); ok {
			if n, err := strconv.Atoi(more); err == nil {
				count += n
				continue
			}
		}
		// "plugin (a/plugin.py)": the module, told apart by its file.
		m, _, _ = strings.Cut(m, " (")
		mods = append(mods, m)
		count++
	}
	return mods, count
}

// moduleCount says how many modules a frame stands for: "1 module",
// "9 modules".
func moduleCount(n int) string {
	if n == 1 {
		return "1 module"
	}
	return strconv.Itoa(n) + " modules"
}

// topLevel is the package a module belongs to: email for email.mime.text.
func topLevel(module string) string {
	pkg, _, _ := strings.Cut(module, ".")
	return pkg
}
