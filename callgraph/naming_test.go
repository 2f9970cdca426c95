package callgraph

import "testing"

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
