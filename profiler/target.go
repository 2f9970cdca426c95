package profiler

import (
	"errors"
	"fmt"
	"github.com/pyprof/pyprof/profiler/agent"
	"path/filepath"
	"regexp"
	"strings"
)

// TargetKind is how the program is named: a script, -m module or -c code.
type TargetKind string

const (
	Script TargetKind = "script"
	Module TargetKind = "module"
	Code   TargetKind = "code"
)

// Target is the program to run, split the way the interpreter reads its
// command line.
type Target struct {
	// Interpreter is the Python named on the command line, or "" when the
	// command line starts with the program and pyprof must find one.
	Interpreter string
	// PythonOptions are the interpreter's own options (-X dev, -u, -W ...).
	PythonOptions []string
	Kind          TargetKind
	// Name is the script path, module name or code.
	Name string
	// Args are the program's own arguments, untouched.
	Args []string
}

// ErrNoTarget is returned when the command line names no program.
var ErrNoTarget = errors.New("no program to profile: give a script, -m module or -c code after --")

var interpreterName = regexp.MustCompile(`^(python|pypy)[0-9.]*[a-z]*$`)

// looksLikeInterpreter tells `python3.12 app.py` from `app.py`: by its
// name, or, named otherwise (a link called py, a build called
// python-dev), by its file, which CPython's launcher makes say so.
func looksLikeInterpreter(arg string) bool {
	return interpreterName.MatchString(filepath.Base(arg)) || agent.IsInterpreterFile(arg)
}

// ParseTarget splits the words after `--`. With explicitInterpreter set
// (--python), all words are the program.
func ParseTarget(words []string, explicitInterpreter bool) (Target, error) {
	var t Target
	if len(words) == 0 {
		return t, ErrNoTarget
	}
	if !explicitInterpreter && looksLikeInterpreter(words[0]) {
		t.Interpreter, words = words[0], words[1:]
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "-" || !strings.HasPrefix(w, "-") {
			if w == "-" {
				return t, fmt.Errorf("reading the program from standard input is not supported: %w", ErrNoTarget)
			}
			t.Kind, t.Name, t.Args = Script, w, append([]string(nil), words[i+1:]...)
			return t, nil
		}
		if w == "--" {
			continue
		}
		if strings.HasPrefix(w, "--") {
			n, err := longOption(w, words[i+1:])
			if err != nil {
				return t, err
			}
			t.PythonOptions = append(t.PythonOptions, words[i:i+1+n]...)
			i += n
			continue
		}
		done, used, err := shortOptions(&t, w, words[i+1:])
		if err != nil || done {
			return t, err
		}
		i += used
	}
	return t, ErrNoTarget
}

// longOption returns how many following words a --option takes.
func longOption(w string, rest []string) (int, error) {
	switch w {
	case "--check-hash-based-pycs":
		if len(rest) == 0 {
			return 0, fmt.Errorf("python option %s needs a value", w)
		}
		return 1, nil
	case "--help", "--version", "--help-env", "--help-xoptions", "--help-all":
		return 0, fmt.Errorf("python option %s runs no program: %w", w, ErrNoTarget)
	}
	return 0, nil
}

// shortOptions reads one word of single-letter options ("-u", "-uB",
// "-Xdev", "-c", "-mpkg"). done is true when it found the program.
func shortOptions(t *Target, w string, rest []string) (done bool, used int, err error) {
	for j := 1; j < len(w); j++ {
		c := w[j]
		if !strings.ContainsRune("cmWX", rune(c)) {
			continue
		}
		value := w[j+1:]
		if value == "" {
			if len(rest) == 0 {
				return false, 0, fmt.Errorf("python option -%c needs a value", c)
			}
			value, used = rest[0], 1
		}
		switch c {
		case 'c', 'm':
			if j > 1 {
				t.PythonOptions = append(t.PythonOptions, w[:j])
			}
			t.Kind, t.Name, t.Args = Code, value, append([]string(nil), rest[used:]...)
			if c == 'm' {
				t.Kind = Module
			}
			return true, used, nil
		default: // -W and -X take the rest of the word or the next one
			t.PythonOptions = append(t.PythonOptions, w)
			if used == 1 {
				t.PythonOptions = append(t.PythonOptions, value)
			}
			return false, used, nil
		}
	}
	t.PythonOptions = append(t.PythonOptions, w)
	return false, 0, nil
}

// commandLine returns the interpreter's arguments that run the bootstrap in
// place of the program.
func (t Target) commandLine(bootstrap string) []string {
	args := append([]string{}, t.PythonOptions...)
	args = append(args, bootstrap, string(t.Kind), t.Name)
	return append(args, t.Args...)
}
