package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

// stacks builds a profile of calls from "a;b;c N" lines, each thread's
// lines after a "thread PID" line (PID 0: the program's own).
func stacks(t *testing.T, text string) *callgraph.Profile {
	t.Helper()
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls}, Default: callgraph.Calls}
	ids := map[string]callgraph.FuncID{}
	var th *callgraph.Thread
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		fields := strings.Fields(line)
		if fields[0] == "thread" {
			th = &callgraph.Thread{ID: int64(len(p.Threads) + 1), Root: &callgraph.Node{}}
			if fields[1] != "0" {
				th.PID = 99
			}
			p.Threads = append(p.Threads, th)
			continue
		}
		n := th.Root
		for _, name := range strings.Split(fields[0], ";") {
			id, ok := ids[name]
			if !ok {
				id = callgraph.FuncID(len(p.Funcs))
				ids[name] = id
				p.Funcs = append(p.Funcs, callgraph.Func{Name: name})
			}
			n = n.Child(id, 0)
		}
		var calls int64
		for _, c := range fields[1] {
			calls = calls*10 + int64(c-'0')
		}
		n.Total[callgraph.Calls] += calls
	}
	return p
}

func TestPythonChildCalls(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		want  int64
	}{
		{"a pool's processes, each forked once by its start", `
thread 0
__main__.main;multiprocessing.pool.Pool.__init__;multiprocessing.process.BaseProcess.start 4
__main__.main;multiprocessing.pool.Pool.__init__;multiprocessing.process.BaseProcess.start;multiprocessing.popen_fork.Popen._launch;posix.fork 4
`, 4},
		{"forks of the program's own", `
thread 0
__main__.main;posix.fork 2
__main__.other;posix.fork 1
`, 3},
		{"both, in two threads", `
thread 0
__main__.main;posix.fork 1
thread 0
threading.Thread.run;multiprocessing.process.BaseProcess.start 2
threading.Thread.run;multiprocessing.process.BaseProcess.start;x.spawn;_posixsubprocess.fork_exec 2
`, 3},
		{"a followed child's own starts are its own", `
thread 0
__main__.main;time.sleep 1
thread 99
__main__.main;posix.fork 5
`, 0},
		{"no child", `
thread 0
__main__.main;subprocess.Popen._execute_child;_posixsubprocess.fork_exec 1
`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pythonChildCalls(stacks(t, tt.stack)); got != tt.want {
				t.Errorf("pythonChildCalls = %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("a sampled profile counts no calls", func(t *testing.T) {
		p := stacks(t, "thread 0\n__main__.main;posix.fork 3")
		p.Values, p.Default = []callgraph.Value{callgraph.Samples}, callgraph.Samples
		if got := pythonChildCalls(p); got != 0 {
			t.Errorf("pythonChildCalls = %d, want 0", got)
		}
	})
}

func TestPythonExecutable(t *testing.T) {
	tests := []struct {
		name, exe string
		want      bool
	}{
		{"a minor version pyprof follows", "/usr/bin/python3.12", true},
		{"a newer one", "/opt/python/bin/python3.14", true},
		{"free-threaded", "/usr/bin/python3.13t", true},
		{"no minor version to tell", "/venv/bin/python3", true},
		{"python alone", "/usr/bin/python", true},
		{"too old for --subprocesses", "/usr/bin/python3.11", false},
		{"not python", "/usr/bin/sleep", false},
		{"a name that only starts like python", "/usr/bin/pythonista-tool", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isFollowablePython(tt.exe); got != tt.want {
				t.Errorf("isFollowablePython(%q) = %v, want %v", tt.exe, got, tt.want)
			}
		})
	}
}

// TestChildrenOf finds a child of this process, started by whichever of
// its threads ran the goroutine.
func TestChildrenOf(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if got := childrenOf(os.Getpid()); !slices.Contains(got, cmd.Process.Pid) {
		t.Errorf("children %v, want %d among them", got, cmd.Process.Pid)
	}
	if got := childrenOf(1 << 30); got != nil {
		t.Errorf("children of no process: %v", got)
	}
}
