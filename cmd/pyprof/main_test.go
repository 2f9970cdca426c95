package main

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pyprof/pyprof/internal/testpython"
	"github.com/pyprof/pyprof/profiler/agent"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pyprof": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar against the pyprof binary.
// $PYTHON is the newest Python 3.12+ found; $PYTHONS lists all of them;
// $OLDPYTHON is an older Python when one exists here.
func TestScripts(t *testing.T) {
	// A CPython 3.14 on PATH first, extracted when none is installed, so
	// that the scripts run on it too; not in TestMain, which also runs
	// every pyprof command the scripts start.
	if _, err := testpython.Provide314(); err != nil {
		t.Logf("the scripts run without 3.14: %v", err)
	}
	pythons := agent.All()
	if len(pythons) == 0 {
		t.Fatal("no Python 3.12+ found: the record scripts would prove nothing")
	}
	testscript.Run(t, scriptParams(pythons[0], pythons, testscript.Params{Dir: "testdata/script"}))
}

// everyPythonScripts compare a program run under pyprof with the same
// program run by python itself, which differs between Python versions.
var everyPythonScripts = []string{"testdata/script/pythonlike.txtar", "testdata/script/signals.txtar", "testdata/script/monitoring.txtar"}

// TestScriptsOnOlderPythons runs everyPythonScripts with $PYTHON set to
// each Python 3.12+ older than the one TestScripts uses.
func TestScriptsOnOlderPythons(t *testing.T) {
	pythons := agent.All()
	if len(pythons) < 2 {
		t.Skip("only one Python 3.12+ here: TestScripts ran these scripts on it")
	}
	for _, p := range pythons[1:] {
		t.Run(p.VersionString(), func(t *testing.T) {
			testscript.Run(t, scriptParams(p, pythons, testscript.Params{Files: everyPythonScripts}))
		})
	}
}

// scriptParams completes p with the environment and commands every script
// has, $PYTHON being python.
func scriptParams(python *agent.Interpreter, pythons []*agent.Interpreter, p testscript.Params) testscript.Params {
	// The real executables: a pyenv shim needs PYENV_VERSION, which
	// scripts do not inherit.
	p.Setup = func(env *testscript.Env) error {
		env.Setenv("PYTHON", python.Executable)
		var all []string
		for _, p := range pythons {
			all = append(all, p.Executable)
		}
		env.Setenv("PYTHONS", strings.Join(all, " "))
		env.Setenv("OLDPYTHON", oldPython())
		env.Setenv("ADDRESS_SPACE", strconv.Itoa(scriptAddressSpaceKiB))
		env.Setenv("XDG_CACHE_HOME", os.Getenv("XDG_CACHE_HOME"))
		env.Setenv("HOME", os.Getenv("HOME"))
		return nil
	}
	p.Cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"status":   cmdStatus,
		"waitfile": cmdWaitFile,
		"readenv":  cmdReadEnv,
	}
	p.Condition = func(cond string) (bool, error) {
		if cond == "oldpython" {
			return oldPython() != "", nil
		}
		if cond == "cgo" {
			return addressSpaceCheckedInC, nil
		}
		return false, errors.New("unknown condition " + cond)
	}
	return p
}

// oldPython returns a python3 older than 3.12, if there is one.
func oldPython() string {
	path, err := exec.LookPath("python3")
	if err != nil {
		return ""
	}
	i, err := agent.Probe(path)
	if err != nil || i.Supported() {
		return ""
	}
	return path
}

// cmdStatus runs a command and checks its exact exit status:
// status N cmd args... Its stdout and stderr become the script's.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		// testscript reports a non-zero exit as an error whose text ends
		// with "exit status N".
		m := regexp.MustCompile(`exit status (\d+)`).FindStringSubmatch(err.Error())
		if m == nil {
			ts.Fatalf("status: %v", err)
		}
		got, _ = strconv.Atoi(m[1])
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdWaitFile waits up to ten seconds for a file to appear: waitfile NAME.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile NAME")
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear within 10s", args[0])
}

// cmdReadEnv sets an environment variable from a file's first line:
// readenv NAME FILE.
func cmdReadEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: readenv NAME FILE")
	}
	line, _, _ := strings.Cut(ts.ReadFile(args[1]), "\n")
	ts.Setenv(args[0], strings.TrimSpace(line))
}

// TestExitCodesDocumented pins the exit statuses: the manual (pyprof help)
// and README.md list each constant with its number.
func TestExitCodesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		code int
		word string
	}{{exitUsage, "usage"}, {exitEnv, "environment"}, {exitOutput, "could not be written"}, {exitRegression, "regress"}, {exitNoisy, "too noisy to judge"}} {
		line := regexp.MustCompile(`(?m)^\s*\|?\s*` + strconv.Itoa(c.code) + `\b.*` + c.word)
		if !line.MatchString(manual()) {
			t.Errorf("pyprof help does not list exit status %d (%s)", c.code, c.word)
		}
		if !line.Match(readme) {
			t.Errorf("README.md does not list exit status %d (%s)", c.code, c.word)
		}
	}
}
