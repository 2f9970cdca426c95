package profiler

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pyprof/pyprof/profiler/agent"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		name     string
		words    []string
		explicit bool
		want     Target
		err      error
	}{
		{"script", []string{"python3.12", "app.py", "--app-flag", "-m", "x"}, false,
			Target{Interpreter: "python3.12", Kind: Script, Name: "app.py", Args: []string{"--app-flag", "-m", "x"}}, nil},
		{"no interpreter", []string{"app.py", "-c"}, false,
			Target{Kind: Script, Name: "app.py", Args: []string{"-c"}}, nil},
		{"module", []string{"python3", "-m", "json.tool", "f.json"}, false,
			Target{Interpreter: "python3", Kind: Module, Name: "json.tool", Args: []string{"f.json"}}, nil},
		{"code attached", []string{"/usr/bin/python3.13", "-uc", "print(1)", "a"}, false,
			Target{Interpreter: "/usr/bin/python3.13", PythonOptions: []string{"-u"}, Kind: Code, Name: "print(1)", Args: []string{"a"}}, nil},
		{"options with values", []string{"python3.12", "-X", "dev", "-Wignore", "-B", "s.py"}, false,
			Target{Interpreter: "python3.12", PythonOptions: []string{"-X", "dev", "-Wignore", "-B"}, Kind: Script, Name: "s.py"}, nil},
		{"explicit interpreter", []string{"python3.12", "x"}, true,
			Target{Kind: Script, Name: "python3.12", Args: []string{"x"}}, nil},
		{"empty", nil, false, Target{}, ErrNoTarget},
		{"interpreter only", []string{"python3.12"}, false, Target{Interpreter: "python3.12"}, ErrNoTarget},
		{"stdin", []string{"python3.12", "-"}, false, Target{Interpreter: "python3.12"}, ErrNoTarget},
		{"version", []string{"python3.12", "--version"}, false, Target{Interpreter: "python3.12"}, ErrNoTarget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.words, tc.explicit)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestParseTargetKnowsARenamedInterpreter: a CPython under a name that
// is not python* (a link called py) is the interpreter, not the script.
func TestParseTargetKnowsARenamedInterpreter(t *testing.T) {
	all := agent.All()
	if len(all) == 0 {
		t.Skip("no Python 3.12+ found")
	}
	t.Setenv("LD_LIBRARY_PATH", "")
	os.Unsetenv("LD_LIBRARY_PATH")
	link := filepath.Join(t.TempDir(), "py")
	if err := os.Symlink(all[0].Executable, link); err != nil {
		t.Fatal(err)
	}
	got, err := ParseTarget([]string{link, "app.py", "x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.Interpreter != link || got.Kind != Script || got.Name != "app.py" {
		t.Errorf("got %+v, want %s running app.py", got, link)
	}
}
