package callgraph

import "testing"

func TestFuncName(t *testing.T) {
	for _, tc := range []struct {
		name, module, file, qual, want string
	}{
		{"two packages' same file name", "alpha.utils", "/src/alpha/utils.py", "helper", "alpha.utils.helper"},
		{"the other package", "beta.utils", "/src/beta/utils.py", "helper", "beta.utils.helper"},
		{"package init", "app", "/src/app/__init__.py", "setup", "app.setup"},
		{"script", "__main__", "/src/main.py", "main", "__main__.main"},
		{"module code", "pkg.mod", "/src/pkg/mod.py", "<module>", "pkg.mod.<module>"},
		{"frozen import system", "_frozen_importlib", "<frozen importlib._bootstrap>", "_find_and_load",
			"importlib._bootstrap._find_and_load"},
		{"frozen import system, renamed", "importlib._bootstrap", "<frozen importlib._bootstrap>", "_find_and_load",
			"importlib._bootstrap._find_and_load"},
		{"external import system", "_frozen_importlib_external", "<frozen importlib._bootstrap_external>",
			"FileLoader.get_data", "importlib._bootstrap_external.FileLoader.get_data"},
		{"unknown module: from the file", "", "/src/alpha/utils.py", "helper", "utils.helper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FuncName(tc.module, tc.file, tc.qual); got != tc.want {
				t.Errorf("FuncName(%q, %q, %q) = %q, want %q", tc.module, tc.file, tc.qual, got, tc.want)
			}
		})
	}
}

func TestPythonFuncName(t *testing.T) {
	for _, tc := range []struct {
		name, file, qual, want string
	}{
		{"script", "/home/u/app.py", "main", "app.main"},
		{"stdlib", "/root/.pyenv/versions/3.12.1/lib/python3.12/json/encoder.py", "JSONEncoder.encode", "json.encoder.JSONEncoder.encode"},
		{"stdlib package init", "/usr/lib/python3.13/json/__init__.py", "dumps", "json.dumps"},
		{"site-packages", "/venv/lib/python3.12/site-packages/requests/api.py", "get", "requests.api.get"},
		{"frozen", "<frozen importlib._bootstrap>", "_find_and_load", "importlib._bootstrap._find_and_load"},
		{"string", "<string>", "<module>", "<string>.<module>"},
		{"package init outside lib", "/src/pkg/__init__.py", "<module>", "pkg.<module>"},
		{"lambda", "/src/w.py", "run.<locals>.<lambda>", "w.run.<locals>.<lambda>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PythonFuncName(tc.file, tc.qual); got != tc.want {
				t.Errorf("PythonFuncName(%q, %q) = %q, want %q", tc.file, tc.qual, got, tc.want)
			}
		})
	}
}

func TestModuleName(t *testing.T) {
	for _, tc := range []struct{ name, filename, want string }{
		{"script", "/home/me/app/main.py", "main"},
		{"relative", "main.py", "main"},
		{"stdlib package module", "/root/.pyenv/versions/3.12.1/lib/python3.12/json/encoder.py", "json.encoder"},
		{"stdlib module", "/root/.pyenv/versions/3.12.1/lib/python3.12/threading.py", "threading"},
		{"stdlib package", "/usr/lib/python3.13/json/__init__.py", "json"},
		{"site-packages", "/venv/lib/python3.12/site-packages/requests/api.py", "requests.api"},
		{"dist-packages", "/usr/lib/python3/dist-packages/yaml/__init__.py", "yaml"},
		{"free-threaded, compiled", "/opt/lib/python3.13t/site-packages/pkg/mod.pyc", "pkg.mod"},
		{"frozen", "<frozen importlib._bootstrap>", "importlib._bootstrap"},
		{"pseudo-file", "<string>", "<string>"},
		{"unicode", "/tmp/unicode_🐍_名前.py", "unicode_🐍_名前"},
		{"no extension", "/tmp/noext", "noext"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ModuleName(tc.filename); got != tc.want {
				t.Errorf("ModuleName(%q) = %q, want %q", tc.filename, got, tc.want)
			}
		})
	}
}

// TestMarkerNames checks that every marker name pyprof makes is told from
// a function's by IsMarkerName, which readers of files rely on, and that
// names that only look bracketed are not.
func TestMarkerNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frame  string
		marker bool
	}{
		{"lost events", LostMarker(3), true},
		{"no lost events", LostMarker(0), true},
		{"stack changed while read", DroppedMarker, true},
		{"unobserved", UnobservedMarker, true},
		{"unknown code", UnknownCodeMarker, true},
		{"outer frames cut", CutMarker(2000), true},
		{"unknown native: a function", UnknownNative, false},
		{"python function", "app.main", false},
		{"module code", "<string>.<module>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsMarkerName(tc.frame); got != tc.marker {
				t.Errorf("IsMarkerName(%q) = %v, want %v", tc.frame, got, tc.marker)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name, frame, file string
		filesKept         bool
		want              FuncKind
	}{
		{"python function", "app.main", "app.py", true, KindPython},
		{"bracketed module with a file", "[sandbox].f", "<string>", true, KindPython},
		{"native callable", "builtins.len", "", true, KindNative},
		{"marker", LostMarker(3), "", true, KindMarker},
		{"unknown native", UnknownNative, "", true, KindNative},
		{"no files kept: a function", "app.main", "", false, KindPython},
		{"no files kept: a marker", CutMarker(5), "", false, KindMarker},
		{"no files kept: unknown native", UnknownNative, "", false, KindNative},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KindOf(tc.frame, tc.file, tc.filesKept); got != tc.want {
				t.Errorf("KindOf(%q, %q, %v) = %v, want %v", tc.frame, tc.file, tc.filesKept, got, tc.want)
			}
		})
	}
}
