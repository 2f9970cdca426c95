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
// imports whose modules ran no Python code (extensions, built-ins, a
// cached failure).
const (
	machineryName = "importlib (machinery)"
	extensionName = ImportPrefix + "(extension module)"
	builtinName   = ImportPrefix + "(built-in module)"
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
	claimed bool // a _find_and_load is in the run
	// loads holds, per kind, the making of the modules without Python
	// code that the run loaded, apart from the rest of the run until it
	// is known whether they need frames of their own.
	loads [numLoadKinds]*callgraph.Node
}

// loadKind is how a module without Python code of its own is made.
type loadKind int

const (
	extensionLoad loadKind = iota // from a shared library
	builtinLoad                   // compiled into the interpreter
	numLoadKinds
)

// loadFuncs are the functions of _imp that make and run the modules
// without Python code; creates marks the one called once per module.
var loadFuncs = map[string]struct {
	kind    loadKind
	creates bool
}{
	"_imp.create_dynamic": {extensionLoad, true},
	"_imp.exec_dynamic":   {extensionLoad, false},
	"_imp.create_builtin": {builtinLoad, true},
	"_imp.exec_builtin":   {builtinLoad, false},
}

// loadNames name, per kind, the frame of such modules and, in a shared
// frame's list, one and several of them.
var loadNames = [numLoadKinds]struct{ frame, one, many string }{
	extensionLoad: {extensionName, "extension module", "extension modules"},
	builtinLoad:   {builtinName, "built-in module", "built-in modules"},
}

// importNodes folds the machinery run starting at top into one frame per
// import. A run that the tree merged from several imports (made from one
// line: the machinery, entered from C, has that line and no other to tell
// them apart) gives
// each module its frame, holding its top-level code, and one more frame
// for what they shared: finding and loading them, and the imports made on
// the way (parent packages), which cannot be told apart.
func (f *folder) importNodes(top *callgraph.Node) []*callgraph.Node {
	run := &importRun{node: &callgraph.Node{CallLine: top.CallLine, Total: top.Total}}
	run.node.Total[callgraph.Calls] = 0
	f.absorb(run, top)
	if len(run.modules)+run.loadKinds() < 2 {
		f.keepLoads(run)
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
		run.takeOut(imp)
		out = append(out, imp)
	}
	// The modules without Python code are not any of the named ones: the
	// profile does not say which they were, only how many and of what kind.
	for kind, load := range run.loads {
		if load != nil {
			load.Func = f.funcFor(loadNames[kind].frame, "")
			run.takeOut(load)
			out = append(out, load)
		}
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
	for _, c := range src.Children {
		cf := f.p.Funcs[c.Func]
		_, isLoad := loadFuncs[cf.Name]
		switch {
		case isFindAndLoad(cf) && run.claimed:
			// Another module imported within this one's import: the
			// parent package, or a module the loader needs.
			for _, n := range f.importNodes(c) {
				f.tree.attach(run.node, n)
			}
		case isLoad && cf.Kind == callgraph.KindNative && run.claimed:
			f.absorbLoad(run, c)
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

// absorbLoad folds src, where a module without Python code was made or
// run, into the frame of run's modules of its kind. The imports such a
// module makes as it starts (an extension's own imports) are nested in it.
func (f *folder) absorbLoad(run *importRun, src *callgraph.Node) {
	how := loadFuncs[f.p.Funcs[src.Func].Name]
	load := run.loads[how.kind]
	if load == nil {
		load = &callgraph.Node{CallLine: run.node.CallLine}
		run.loads[how.kind] = load
	}
	for v := range load.Total {
		if callgraph.Value(v) != callgraph.Calls {
			load.Total[v] += src.Total[v]
		}
	}
	if how.creates {
		load.Total[callgraph.Calls] += src.Total[callgraph.Calls]
	}
	f.absorb(&importRun{node: load, claimed: true}, src)
}

// keepLoads puts back into run's frame what absorbLoad set apart, for a
// run that stands for one import, or for imports of one kind.
func (f *folder) keepLoads(run *importRun) {
	for _, load := range run.loads {
		if load == nil {
			continue
		}
		for _, c := range load.Children {
			f.tree.forget(load, c)
			f.tree.attach(run.node, c)
		}
	}
}

// loadKinds counts the kinds of modules without Python code run loaded.
func (r *importRun) loadKinds() int {
	n := 0
	for _, load := range r.loads {
		if load != nil {
			n++
		}
	}
	return n
}

// takeOut removes the values of imp, a frame split from run's, from what
// run's frame holds; the calls stay, since the finding and loading that
// run's frame keeps was done for every import of the run.
func (r *importRun) takeOut(imp *callgraph.Node) {
	for v := range r.node.Total {
		if callgraph.Value(v) != callgraph.Calls {
			r.node.Total[v] -= imp.Total[v]
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

// list names the run's modules, the first few of many, then counts those
// without Python code by kind; modules of one name are told apart by the
// ends of their files.
func (r *importRun) list() string {
	var names []string
	for _, m := range r.modules {
		names = append(names, r.label(m))
	}
	if len(names) > maxNamedModules {
		names = append(names[:maxNamedModules], strconv.Itoa(len(names)-maxNamedModules)+" more")
	}
	for kind, load := range r.loads {
		if load == nil {
			continue
		}
		n := load.Total[callgraph.Calls]
		what := loadNames[kind].many
		if n == 1 {
			what = loadNames[kind].one
		}
		names = append(names, strconv.FormatInt(n, 10)+" "+what)
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
	}
	for kind, load := range r.loads {
		if load != nil {
			return loadNames[kind].frame
		}
	}
	return unknownName
}
