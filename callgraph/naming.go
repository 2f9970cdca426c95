package callgraph

import (
	"path"
	"regexp"
	"strconv"
	"strings"
)

// FuncName names a Python function the way Python does: the __name__ of the
// module that defined it, a dot, and its qualname ("alpha.utils.helper",
// "app.setup" for a function of app/__init__.py, "__main__.main" for the
// script, "pkg.mod.<module>" for a module's top-level code). The qualname
// alone would not tell apart the many __init__s and <lambda>s of a program,
// and viewers such as pprof's show a function by its name alone.
//
// module is what the agent or the sampler learnt from the running program;
// it is "" only when they could not learn it (code run with globals that
// have no __name__, a function object the sampler could not read). Only
// then is the module guessed from the file name (ModuleName), which cannot
// tell alpha/utils.py from beta/utils.py outside an import root.
func FuncName(module, filename, qualname string) string {
	if module == "" {
		return PythonFuncName(filename, qualname)
	}
	return canonicalModule(module) + "." + qualname
}

// renamedModules maps the names a module's functions were made under to
// the name the module has for good. The import system's two frozen modules
// run as _frozen_importlib and _frozen_importlib_external; importing
// importlib renames them importlib._bootstrap and _bootstrap_external (the
// same module objects, the old names kept in sys.modules too). A function's
// __module__ keeps the first name, its module's globals say the second, so
// the agent (globals) and the sampler (the function) would name them apart.
var renamedModules = map[string]string{
	"_frozen_importlib":          "importlib._bootstrap",
	"_frozen_importlib_external": "importlib._bootstrap_external",
}

func canonicalModule(module string) string {
	if m, ok := renamedModules[module]; ok {
		return m
	}
	return module
}

// PythonFuncName names a function whose module is unknown: its module as
// guessed from its file name (ModuleName), a dot, and its qualname.
func PythonFuncName(filename, qualname string) string {
	if m := ModuleName(filename); m != "" {
		return m + "." + qualname
	}
	return qualname
}

// libPython finds a standard library directory in a path (3.12's, or a
// free-threaded 3.13t's).
var libPython = regexp.MustCompile(`/lib/python3\.\d+t?/`)

// ModuleName guesses a dotted module name from a code object's filename,
// without asking the program for sys.path or sys.modules; it is only a
// fallback for when the module's __name__ is unknown (FuncName):
//
//   - "<frozen importlib._bootstrap>" is importlib._bootstrap;
//   - other names in angle brackets ("<string>", "<stdin>") stay as they are;
//   - a file under site-packages or dist-packages is named by its path
//     relative to that directory ("…/site-packages/requests/api.py" is
//     requests.api), and a file under lib/python3.X/ likewise
//     ("…/lib/python3.12/json/encoder.py" is json.encoder);
//   - anything else, a script or a file of the user's project, is named by
//     its file stem ("/home/me/app/main.py" is main).
//
// A package's __init__.py is named by the package. The result only labels
// functions; it is never used to find a file.
func ModuleName(filename string) string {
	if strings.HasPrefix(filename, "<") && strings.HasSuffix(filename, ">") {
		if mod, ok := strings.CutPrefix(filename, "<frozen "); ok {
			return strings.TrimSuffix(mod, ">")
		}
		return filename
	}
	p := strings.ReplaceAll(filename, "\\", "/")
	rel, ok := underImportRoot(p)
	if !ok {
		rel = path.Base(p)
		if trimPySuffix(rel) == "__init__" {
			rel = path.Base(path.Dir(p)) + "/" + rel
		}
	}
	rel = trimPySuffix(rel)
	rel = strings.TrimSuffix(rel, "/__init__")
	return strings.ReplaceAll(rel, "/", ".")
}

// underImportRoot returns filename relative to the innermost import root
// it lies under: site-packages, dist-packages or the standard library.
func underImportRoot(filename string) (string, bool) {
	for _, root := range []string{"/site-packages/", "/dist-packages/"} {
		if i := strings.LastIndex(filename, root); i >= 0 {
			return filename[i+len(root):], true
		}
	}
	if loc := libPython.FindAllStringIndex(filename, -1); loc != nil {
		return filename[loc[len(loc)-1][1]:], true
	}
	return "", false
}

func trimPySuffix(name string) string {
	for _, ext := range []string{".py", ".pyc", ".pyw"} {
		if s, ok := strings.CutSuffix(name, ext); ok {
			return s
		}
	}
	return name
}

// Marker frames are frames pyprof adds to a profile itself, to make visible
// what no function of the program stands for (events lost, stacks the
// sampler could not read, frames an exporter cut). Their names are made
// here, by the functions and constants below, and told from functions' by
// IsMarkerName: in brackets, or "<pyprof: ...>" where brackets would read as
// a list. A function's name starts with its module's, which is not
// bracketed in any program pyprof has seen.
const (
	// DroppedMarker stands for the stacks the sampler dropped because they
	// changed while it read them, under the outer frames that stood still.
	DroppedMarker = "<pyprof: stack changed while read>"
	// UnobservedMarker holds the wall time of a gap between two samples
	// of a thread that no sample can stand for (pyprof itself stopped).
	UnobservedMarker = "[unobserved]"
	// UnknownCodeMarker stands for the calls of a code object whose
	// definition never reached pyprof.
	UnknownCodeMarker = "[unknown code]"
	// ResumedUnseenMarker holds the generators and coroutines resumed
	// whose start the recording never saw: they started before it did (a
	// region of a program), so their nodes count no call.
	ResumedUnseenMarker = "[resumed, started before recording]"
	// RunningBeforeMarker holds, in a region sampled from outside, the
	// time a thread spent in frames that were running when the region
	// began, which the region's profile leaves out: a thread sleeping
	// all along in a loop started before keeps its time there.
	RunningBeforeMarker = "[in calls running before the region]"
	// ResumedElsewhereMarker holds the generators and coroutines resumed
	// on a thread other than the one where they started and last
	// suspended: their calls are counted where they started.
	ResumedElsewhereMarker = "[resumed from another thread]"
)

// UnknownNative names the native callable whose name never reached
// pyprof. It is a function, called as many times as counted, not a
// marker: its brackets only say that the name is unknown.
const UnknownNative = "[unknown native]"

// LostMarker names the marker that counts the n events the agent lost.
func LostMarker(n int64) string {
	return "[lost " + strconv.FormatInt(n, 10) + " events]"
}

// CutMarker names the marker frame that stands for the outer frames an
// exporter left out of paths deeper than maxDepth, or the sampler of
// stacks deeper than it reads. The name is the same for
// every cut path, whatever its depth: the cut paths of a deep recursion then
// share their root and merge into one tower. Naming the number of frames cut
// made every path distinct: a 20,000-deep recursion wrote 18,000 folded lines
// of 2,001 frames and took 40 s instead of a fraction of one.
func CutMarker(maxDepth int) string {
	return "[outer frames cut, " + strconv.Itoa(maxDepth) + " kept]"
}

// MarkerFunc is the Func of the marker frame named name.
func MarkerFunc(name string) Func {
	return Func{Name: name, Kind: KindMarker}
}

// IsMarkerName reports whether a frame named name, read from a file, is one
// of pyprof's marker frames rather than a function.
func IsMarkerName(name string) bool {
	if name == UnknownNative {
		return false
	}
	return strings.HasPrefix(name, "[") || strings.HasPrefix(name, "<pyprof: ")
}

// KindOf tells a function's kind from what a profile file keeps of it: its
// name and its file name, where filesKept says the format keeps file names
// at all (folded stacks do not). Only Python code has a file, and a marker
// never does: a function with a file is Python code whatever its name (code
// run with globals whose __name__ is "[sandbox]"). Without one, a marker's
// name makes a marker, and any other name a native callable, or a Python
// function where the format keeps no files and cannot tell the two apart.
func KindOf(name, filename string, filesKept bool) FuncKind {
	switch {
	case filename != "":
		return KindPython
	case name == UnknownNative:
		return KindNative
	case IsMarkerName(name):
		return KindMarker
	case filesKept:
		return KindNative
	}
	return KindPython
}
