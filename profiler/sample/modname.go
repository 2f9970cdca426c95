package sample

import (
	"path"
	"regexp"
	"strings"
)

// libPythonRe finds the standard library directory in a path.
var libPythonRe = regexp.MustCompile(`/lib/python3\.\d+t?/`)

// moduleName derives a dotted module name from a co_filename, without
// asking the target for sys.path or sys.modules:
//
//   - "<frozen importlib._bootstrap>" is importlib._bootstrap;
//   - other names in angle brackets ("<string>", "<stdin>") stay as they are;
//   - a file under site-packages or dist-packages is named by its path
//     relative to that directory ("…/site-packages/requests/api.py" is
//     requests.api);
//   - a file under lib/python3.X/ likewise ("…/lib/python3.12/json/encoder.py"
//     is json.encoder);
//   - anything else, a script or a file of the user's project, is named by
//     its file stem ("/home/me/app/main.py" is main).
//
// A package's __init__.py is named by the package. The result only labels
// functions; it is never used to find a file.
func moduleName(filename string) string {
	if strings.HasPrefix(filename, "<") && strings.HasSuffix(filename, ">") {
		if mod, ok := strings.CutPrefix(filename, "<frozen "); ok {
			return strings.TrimSuffix(mod, ">")
		}
		return filename
	}
	rel, ok := underRoot(filename)
	if !ok {
		rel = path.Base(filename)
	}
	rel = trimPySuffix(rel)
	rel = strings.TrimSuffix(rel, "/__init__")
	return strings.ReplaceAll(rel, "/", ".")
}

// underRoot returns filename relative to the innermost import root it
// lies under: site-packages, dist-packages or the standard library.
func underRoot(filename string) (string, bool) {
	for _, root := range []string{"/site-packages/", "/dist-packages/"} {
		if i := strings.LastIndex(filename, root); i >= 0 {
			return filename[i+len(root):], true
		}
	}
	if loc := libPythonRe.FindAllStringIndex(filename, -1); loc != nil {
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

// funcName is the display name of a function: module, a dot, qualname.
func funcName(filename, qualname string) string {
	return moduleName(filename) + "." + qualname
}
