package callgraph

import (
	"path/filepath"
	"strings"
)

// PythonFuncName names a Python function for display: its module, a dot,
// and its qualname ("json.encoder.JSONEncoder.encode", "app.main.<locals>.<lambda>").
// The qualname alone would not tell apart the many __init__s and <lambda>s
// of a program, and viewers such as pprof's show a function by its name
// alone.
func PythonFuncName(filename, qualname string) string {
	if m := ModuleName(filename); m != "" {
		return m + "." + qualname
	}
	return qualname
}

// ModuleName derives a dotted module name from a code object's filename:
// "<frozen importlib._bootstrap>" is importlib._bootstrap; a file below a
// lib/pythonX.Y or site-packages folder is named by its path from there
// (".../lib/python3.12/json/encoder.py" is json.encoder); any other file by
// its stem, or its folder's name for an __init__.py. Pseudo-files such as
// "<string>" keep their name.
func ModuleName(filename string) string {
	if strings.HasPrefix(filename, "<frozen ") && strings.HasSuffix(filename, ">") {
		return filename[len("<frozen ") : len(filename)-1]
	}
	if strings.HasPrefix(filename, "<") {
		return filename
	}
	path := filepath.ToSlash(filename)
	rel := ""
	if i := strings.LastIndex(path, "/site-packages/"); i >= 0 {
		rel = path[i+len("/site-packages/"):]
	} else if i := strings.LastIndex(path, "/lib/python3."); i >= 0 {
		rest := path[i+len("/lib/python3."):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			rel = rest[j+1:]
		}
	}
	if rel == "" {
		rel = filepath.Base(path)
		if stem := strings.TrimSuffix(rel, filepath.Ext(rel)); stem == "__init__" {
			rel = filepath.Base(filepath.Dir(path)) + "/" + rel
		}
	}
	rel = strings.TrimSuffix(rel, filepath.Ext(rel))
	rel = strings.TrimSuffix(rel, "/__init__")
	return strings.ReplaceAll(rel, "/", ".")
}
