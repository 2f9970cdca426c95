package sample

import "testing"

func TestModuleName(t *testing.T) {
	tests := []struct{ filename, want string }{
		{"/home/me/app/main.py", "main"},
		{"main.py", "main"},
		{"/root/.pyenv/versions/3.12.1/lib/python3.12/json/encoder.py", "json.encoder"},
		{"/root/.pyenv/versions/3.12.1/lib/python3.12/threading.py", "threading"},
		{"/usr/lib/python3.13/json/__init__.py", "json"},
		{"/venv/lib/python3.12/site-packages/requests/api.py", "requests.api"},
		{"/usr/lib/python3/dist-packages/yaml/__init__.py", "yaml"},
		{"/opt/lib/python3.13t/site-packages/pkg/mod.pyc", "pkg.mod"},
		{"<frozen importlib._bootstrap>", "importlib._bootstrap"},
		{"<string>", "<string>"},
		{"/tmp/unicode_🐍_名前.py", "unicode_🐍_名前"},
		{"/tmp/noext", "noext"},
	}
	for _, tt := range tests {
		if got := moduleName(tt.filename); got != tt.want {
			t.Errorf("moduleName(%q) = %q, want %q", tt.filename, got, tt.want)
		}
	}
	if got := funcName("/a/b/job.py", "Runner.run.<locals>.<lambda>"); got != "job.Runner.run.<locals>.<lambda>" {
		t.Errorf("funcName = %q", got)
	}
}
