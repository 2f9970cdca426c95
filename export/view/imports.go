package view

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/pathtail"
)

// ImportPrefix starts the name of every frame FoldImports makes: no Python
// function can be named so, since a space is not part of a dotted name.
const ImportPrefix = "import "

// Names of the frames that stand for import machinery without a module of
// their own: a run that imported nothing (importlib.util.find_spec), and
// an import whose module ran no Python code (an extension, a cached
// failure).
const (
	machineryName = "importlib (machinery)"
	extensionName = ImportPrefix + "(extension module)"
	unknownName   = ImportPrefix + "(no Python code)"
	// sharedPrefix starts the frame of what several merged imports
	// shared; the modules follow.
	sharedPrefix = ImportPrefix + "(finding and loading "
)

// maxNamedModules bounds the modules an import frame names; more (one
// `import a, b, c, d` statement) are counted.
const maxNamedModules = 3

// machineryPrefixes name the modules of CPython's import system, frozen
// or read from source.
var machineryPrefixes = []string{
	"importlib._bootstrap.", "importlib._bootstrap_external.",
	"_frozen_importlib.", "_frozen_importlib_external.",
}

// IsMachinery reports whether f is a function of the interpreter's import
// system (importlib._bootstrap and _bootstrap_external).
func IsMachinery(f callgraph.Func) bool {
	switch f.Filename {
	case "<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>":
		return true
	}
	for _, p := range machineryPrefixes {
		if strings.HasPrefix(f.Name, p) {
			return true
		}
	}
	return false
}

// IsGrouping reports whether f is a frame FoldImports or GroupImports made
// for a group rather than for one import: the machinery run outside any
// import (importlib (machinery)), what merged imports shared (import
// (finding and loading a, b)) and several imports as one (imports: a, b
// (9 modules)). Nothing called such a frame, so it has no calls to show.
func IsGrouping(f callgraph.Func) bool {
	return f.Kind == callgraph.KindNative && f.Filename == "" &&
		(f.Name == machineryName || strings.HasPrefix(f.Name, sharedPrefix) || strings.HasPrefix(f.Name, GroupPrefix))
}

// isFindAndLoad reports whether f starts the import of one module: every
// import that finds or loads a module passes through _find_and_load once.
func isFindAndLoad(f callgraph.Func) bool {
	return IsMachinery(f) && strings.HasSuffix(f.Name, "._find_and_load")
}

// moduleOf returns the module whose top-level code f is, or "".
func moduleOf(f callgraph.Func) string {
	if f.Kind != callgraph.KindPython {
		return ""
	}
	name, ok := strings.CutSuffix(f.Name, ".<module>")
	if !ok {
		return ""
	}
	return name
}

// FoldImports replaces every run of import machinery frames with one frame
// per import, named for the modules imported ("import json"), holding the
// run's time and calls (the imports made) and, as children, the modules'
// top-level code and the imports nested in the run (a package's parent
// first). Native callables the machinery calls (stat, marshal.loads, exec)
// are folded into the import frame too; their Python callees stay. The
// calling contexts merged by call line stay merged: one statement
// `import a, b` is one frame that names both.
func FoldImports(p *callgraph.Profile) {
	if !hasMachinery(p) {
		return
	}
	f := &folder{p: p, ids: map[string]callgraph.FuncID{}, tree: newTree()}
	for _, th := range p.Threads {
		root := &callgraph.Node{Total: th.Root.Total, SelfLine: th.Root.SelfLine}
		f.copyChildren(root, th.Root)
		th.Root = root
	}
	f.tellApart()
}

// tellApart renames the import frames that share a name but not a file
// (two folders' plugin.py, both loaded as "plugin") after the end of the
// file that tells them apart: "import plugin (a/plugin.py)". They are
// different modules, and rows of one name would read as one.
func (f *folder) tellApart() {
	files := map[string][]string{}
	for key := range f.ids {
		name, file, _ := strings.Cut(key, "\x00")
		if file != "" && !slices.Contains(files[name], file) {
			files[name] = append(files[name], file)
		}
	}
	for key, id := range f.ids {
		name, file, _ := strings.Cut(key, "\x00")
		if len(files[name]) > 1 {
			f.p.Funcs[id].Name = name + " (" + pathtail.Distinct(files[name])[file] + ")"
		}
	}
}

func hasMachinery(p *callgraph.Profile) bool {
	for _, fn := range p.Funcs {
		if IsMachinery(fn) {
			return true
		}
	}
	return false
}

type folder struct {
	p    *callgraph.Profile
	ids  map[string]callgraph.FuncID
	tree *tree
}

// copyChildren copies src's children under dst, folding import runs.
func (f *folder) copyChildren(dst, src *callgraph.Node) {
	for _, c := range src.Children {
		if IsMachinery(f.p.Funcs[c.Func]) {
			for _, n := range f.importNodes(c) {
				f.tree.attach(dst, n)
			}
			continue
		}
		n := &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Total: c.Total}
		f.copyChildren(n, c)
		f.tree.attach(dst, n)
	}
}

// importRun gathers what one import frame holds while its run is read.
type importRun struct {
	node    *callgraph.Node
	modules []module
	file    string
	native  bool // the run called _imp.create_dynamic: an extension module
	claimed bool // a _find_and_load is in the run
}

// importNodes folds the machinery run starting at top into one frame per
// import. A run that the tree merged from several imports (made from
// native code, the machinery has no call line to tell them apart) gives
// each module its frame, holding its top-level code, and one more frame
// for what they shared: finding and loading them, and the imports made on
// the way (parent packages), which cannot be told apart.
func (f *folder) importNodes(top *callgraph.Node) []*callgraph.Node {
	run := &importRun{node: &callgraph.Node{CallLine: top.CallLine, Total: top.Total}}
	run.node.Total[callgraph.Calls] = 0
	f.absorb(run, top)
	if len(run.modules) < 2 {
		run.node.Func = f.funcFor(run.name(), run.file)
		return []*callgraph.Node{run.node}
	}
	var out []*callgraph.Node
	var kept []*callgraph.Node
	for _, c := range run.node.Children {
		fn := f.p.Funcs[c.Func]
		m := moduleOf(fn)
		if m == "" {
			kept = append(kept, c)
			continue
		}
		f.tree.forget(run.node, c)
		imp := &callgraph.Node{CallLine: top.CallLine, Total: c.Total, Func: f.funcFor(ImportPrefix+m, fn.Filename)}
		f.tree.attach(imp, c)
		for v := range run.node.Total {
			if callgraph.Value(v) != callgraph.Calls {
				run.node.Total[v] -= c.Total[v]
			}
		}
		out = append(out, imp)
	}
	run.node.Children = kept
	run.node.Func = f.funcFor(sharedPrefix+run.list()+")", "")
	return append(out, run.node)
}

// absorb folds src, a frame of run's machinery, into run's frame.
func (f *folder) absorb(run *importRun, src *callgraph.Node) {
	fn := f.p.Funcs[src.Func]
	if isFindAndLoad(fn) {
		run.claimed = true
		run.node.Total[callgraph.Calls] += src.Total[callgraph.Calls]
	}
	if fn.Name == "_imp.create_dynamic" {
		run.native = true
	}
	for _, c := range src.Children {
		cf := f.p.Funcs[c.Func]
		switch {
		case isFindAndLoad(cf) && run.claimed:
			// Another module imported within this one's import: the
			// parent package, or a module the loader needs.
			for _, n := range f.importNodes(c) {
				f.tree.attach(run.node, n)
			}
		case IsMachinery(cf) || cf.Kind == callgraph.KindNative:
			f.absorb(run, c)
		default:
			if m := moduleOf(cf); m != "" {
				run.addModule(m, cf.Filename)
			}
			n := &callgraph.Node{Func: c.Func, CallLine: c.CallLine, SelfLine: c.SelfLine, Total: c.Total}
			f.copyChildren(n, c)
			f.tree.attach(run.node, n)
		}
	}
}

// module is a module a run imported: two files loaded under one name
// (two folders' plugin.py) are two modules.
type module struct{ name, file string }

func (r *importRun) addModule(m, file string) {
	if slices.Contains(r.modules, module{m, file}) {
		return
	}
	if len(r.modules) == 0 {
		r.file = file
	}
	r.modules = append(r.modules, module{m, file})
}

// funcFor interns the function an import frame stands for. Its file is
// the module's, so that reports say where the module lives.
func (f *folder) funcFor(name, file string) callgraph.FuncID {
	key := name + "\x00" + file
	if id, ok := f.ids[key]; ok {
		return id
	}
	kind := callgraph.KindPython
	if file == "" {
		kind = callgraph.KindNative
	}
	id := f.p.AddFunc(callgraph.Func{Name: name, Filename: file, Kind: kind})
	f.ids[key] = id
	return id
}

// list names the run's modules, the first few of many; modules of one
// name are told apart by the ends of their files.
func (r *importRun) list() string {
	var names []string
	for _, m := range r.modules {
		names = append(names, r.label(m))
	}
	if len(names) > maxNamedModules {
		return strings.Join(names[:maxNamedModules], ", ") + ", " +
			strconv.Itoa(len(names)-maxNamedModules) + " more"
	}
	return strings.Join(names, ", ")
}

// label is m's name, with the end of its file when another module of the
// run has the same name.
func (r *importRun) label(m module) string {
	var files []string
	for _, x := range r.modules {
		if x.name == m.name {
			files = append(files, x.file)
		}
	}
	if len(files) < 2 {
		return m.name
	}
	return m.name + " (" + pathtail.Distinct(files)[m.file] + ")"
}

func (r *importRun) name() string {
	switch {
	case len(r.modules) > 0:
		return ImportPrefix + r.list()
	case !r.claimed:
		return machineryName
	case r.native:
		return extensionName
	}
	return unknownName
}
