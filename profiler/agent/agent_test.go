package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
	"github.com/pyprof/pyprof/profiler/wire"
)

// interpreters probes once for every package test: probing runs each
// candidate interpreter.
var interpreters = sync.OnceValue(agent.All)

func allInterpreters(t *testing.T) []*agent.Interpreter {
	t.Helper()
	all := interpreters()
	if len(all) == 0 {
		t.Fatal("no CPython 3.12+ found (python3.N on PATH or pyenv's versions): the agent cannot be tested")
	}
	return all
}

// TestAgentFromPython runs testdata/agent_test.py, the agent's test suite
// written in Python, against the C agent and the pure-Python twin under
// every interpreter, then decodes the ring bytes it captured with this
// module's decoder: the agents, the Python reference decoder and
// profiler/wire must agree on one capture.
func TestAgentFromPython(t *testing.T) {
	for _, i := range allInterpreters(t) {
		for _, kind := range []agent.Kind{agent.C, agent.Python} {
			t.Run(i.VersionString()+"/"+string(kind), func(t *testing.T) {
				t.Parallel()
				if kind == agent.C && i.FreeThreaded {
					t.Skip("free-threaded builds use the twin only")
				}
				p, err := agent.Prepare(i, kind)
				if err != nil {
					t.Fatalf("preparing the %s agent for %s: %v", kind, i.Path, err)
				}
				dump := filepath.Join(t.TempDir(), "crosscheck.ring")
				runPythonSuite(t, i, p.Path, dump)
				checkCrossCheck(t, dump)
			})
		}
	}
}

// runPythonSuite runs `python -m unittest -v agent_test` in testdata with
// the agent at path.
func runPythonSuite(t *testing.T, i *agent.Interpreter, path, dump string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// -E and -s keep the user's Python environment out; -B keeps
	// __pycache__ out of testdata.
	cmd := exec.CommandContext(ctx, i.Path, "-E", "-s", "-B", "-m", "unittest", "-v", "agent_test")
	cmd.Dir = "testdata"
	cmd.Env = append(os.Environ(), "PYPROF_TEST_AGENT="+path, "PYPROF_TEST_DUMP="+dump)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -m unittest agent_test with %s: %v\n%s", i.Path, path, err, out)
	}
	t.Logf("agent_test.py passed in %v", time.Since(start).Round(time.Millisecond))
}

// crossCheckLines maps the `# line: NAME` markers of testdata/crosscheck.py
// to their line numbers, and "def NAME" to the line of each def.
func crossCheckLines(t *testing.T) map[string]int32 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "crosscheck.py"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	marker := regexp.MustCompile(`# line: ([\w-]+)$|^def (\w+)\(`)
	lines := map[string]int32{}
	s := bufio.NewScanner(f)
	for n := int32(1); s.Scan(); n++ {
		if m := marker.FindStringSubmatch(s.Text()); m != nil {
			if m[1] != "" {
				lines[m[1]] = n
			} else {
				lines["def "+m[2]] = n
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// checkCrossCheck decodes the ring bytes of crosscheck.py's driver() and
// compares the call tree with the one the source says it must be.
func checkCrossCheck(t *testing.T, dump string) {
	t.Helper()
	data, err := os.ReadFile(dump)
	if err != nil {
		t.Fatalf("the Python suite dumped no capture: %v", err)
	}
	b := callgraph.NewBuilder()
	d := wire.NewDecoder(b)
	if err := d.Decode(data); err != nil {
		t.Fatalf("decoding the capture: %v", err)
	}
	if n := b.Mismatched(); n != 0 {
		t.Errorf("%d leave events matched no enter", n)
	}
	p := b.Finish(callgraph.FinishOptions{End: d.Now(), NanosPerTick: 1})
	if len(p.Threads) != 1 || p.Threads[0].Name != "MainThread" || p.Threads[0].ID <= 0 {
		t.Fatalf("want one thread MainThread with its native id, got %+v", p.Threads)
	}
	lines := crossCheckLines(t)
	at := func(marker string) string { return "@" + strconv.Itoa(int(lines[marker])) }
	driver, helper := "crosscheck.driver", "crosscheck.helper"+at("driver-helper")
	sorted := "builtins.sorted" + at("driver-sorted")
	want := []string{
		driver + " 1",
		driver + ";builtins.range" + at("driver-range") + " 1",
		driver + ";crosscheck.leaf" + at("driver-leaf") + " 3",
		driver + ";" + helper + " 1",
		driver + ";" + helper + ";crosscheck.leaf" + at("helper-leaf") + " 1",
		driver + ";builtins.len" + at("driver-len") + " 1",
		driver + ";" + sorted + " 1",
		// Called from C: no call line.
		driver + ";" + sorted + ";crosscheck.driver.<locals>.<lambda> 3",
	}
	if got := treeLines(p, p.Threads[0]); !slices.Equal(got, want) {
		t.Errorf("call tree of the capture:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	path, _ := filepath.Abs(filepath.Join("testdata", "crosscheck.py"))
	for _, f := range p.Funcs {
		if f.Name == "crosscheck.driver" && (f.Filename != path || f.StartLine != int(lines["def driver"])) {
			t.Errorf("crosscheck.driver is defined at %s:%d, want %s:%d", f.Filename, f.StartLine, path, lines["def driver"])
		}
	}
}

// treeLines writes each node of th's tree as its root-first path of
// name@callLine (the line omitted when unknown) and its call count.
func treeLines(p *callgraph.Profile, th *callgraph.Thread) []string {
	var out []string
	th.Root.Walk(func(path []*callgraph.Node) {
		names := make([]string, len(path))
		for k, n := range path {
			names[k] = p.Funcs[n.Func].Name
			if n.CallLine != 0 {
				names[k] += fmt.Sprintf("@%d", n.CallLine)
			}
		}
		out = append(out, fmt.Sprintf("%s %d", strings.Join(names, ";"), path[len(path)-1].Total[callgraph.Calls]))
	})
	return out
}
