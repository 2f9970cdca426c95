package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler"
)

// Without --subprocesses, a program that hands its work to Python child
// processes (multiprocessing's pools, concurrent.futures' process pools,
// subprocess running python) leaves a profile of the parent alone, mostly
// waiting for them. Record then says in one line how many such children
// ran unprofiled. Two signals count them, and the larger count is told:
//
//   - the trace's exact calls: each multiprocessing process started is one
//     call of BaseProcess.start, whatever the start method, each helper
//     process of multiprocessing one call of spawnv_passfds outside it,
//     and each os.fork outside it one forked child, which runs Python as
//     its parent does;
//     and each subprocess the program started running a python, which
//     its audit events tell (Result.PythonChildren);
//   - the program's descendants, read from /proc now and then while it
//     runs, running a Python executable: one started otherwise (os.system,
//     a shell), if it lived long enough to be seen.

// processStart and forkCall name, as the trace names them, the calls that
// start a Python child process.
const (
	processStart = "multiprocessing.process.BaseProcess.start"
	forkCall     = "posix.fork"
	// spawnCall starts multiprocessing's helpers (the resource tracker,
	// the forkserver), pythons too, outside BaseProcess.start.
	spawnCall = "multiprocessing.util.spawnv_passfds"
)

// pythonChildCalls counts the Python child processes the program's own
// threads started, from the exact calls of a traced profile: a fork made
// by BaseProcess.start is that process's, not one more.
func pythonChildCalls(p *callgraph.Profile) int64 {
	if p == nil || !p.Has(callgraph.Calls) {
		return 0
	}
	var n int64
	for _, th := range p.Threads {
		if th.PID != 0 || th.Root == nil {
			continue
		}
		th.Root.Walk(func(path []*callgraph.Node) {
			leaf, callers := path[len(path)-1], path[:len(path)-1]
			if name := funcName(p, leaf); (name == processStart || name == forkCall || name == spawnCall) && !under(p, callers, processStart) {
				n += leaf.Total[callgraph.Calls]
			}
		})
	}
	return n
}

func funcName(p *callgraph.Profile, n *callgraph.Node) string {
	if int(n.Func) >= len(p.Funcs) {
		return ""
	}
	return p.Funcs[n.Func].Name
}

// under reports whether a frame of path is name.
func under(p *callgraph.Profile, path []*callgraph.Node, name string) bool {
	for _, n := range path {
		if funcName(p, n) == name {
			return true
		}
	}
	return false
}

// childWatchEvery is how often the program's descendants are read: a
// child that lives a fraction of that can be missed, but then it took
// little of the parent's time either.
const childWatchEvery = 100 * time.Millisecond

// childWatch counts the program's descendants that run Python.
type childWatch struct {
	stop, done chan struct{}
	// candidates were seen running Python once; a child counts once seen
	// so on two reads in a row, since one between fork and exec still runs
	// its parent's executable for a moment, whatever it goes on to run.
	candidates, python map[int]bool
}

// watchChildren reads the descendants of pid every childWatchEvery until
// count is called.
func watchChildren(pid int) *childWatch {
	w := &childWatch{stop: make(chan struct{}), done: make(chan struct{}), candidates: map[int]bool{}, python: map[int]bool{}}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(childWatchEvery)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
				w.scan(pid)
			}
		}
	}()
	return w
}

// count stops the watch and returns how many Python descendants it saw.
func (w *childWatch) count() int {
	if w == nil {
		return 0
	}
	close(w.stop)
	<-w.done
	return len(w.python)
}

// scan reads the descendants of pid once. A Python child's own children
// are not read: it is one process that ran unprofiled, whatever it
// started, and passing it by keeps a scan of a pool of eight to the
// program's own threads.
func (w *childWatch) scan(pid int) {
	seen := map[int]bool{}
	queue := childrenOf(pid)
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		switch {
		case w.python[c]:
		case runsPython(c):
			seen[c] = true
			if w.candidates[c] {
				w.python[c] = true
			}
		default: // a shell, say, that may start python in turn
			queue = append(queue, childrenOf(c)...)
		}
	}
	w.candidates = seen
}

// childrenOf lists the children of every thread of pid (Linux 3.5+,
// CONFIG_PROC_CHILDREN). Each file is opened relative to the task folder,
// not by its whole path: looking up /proc paths is slow on some virtual
// machines (here a glob and a read of every thread's file took 2 ms a scan
// of a program of five threads, a tenth of pyprof's CPU time).
func childrenOf(pid int) []int {
	dir, err := os.Open("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil
	}
	defer dir.Close()
	tids, _ := dir.Readdirnames(-1)
	var out []int
	buf := make([]byte, 4096)
	for _, tid := range tids {
		fd, err := unix.Openat(int(dir.Fd()), tid+"/children", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		n, _ := unix.Read(fd, buf)
		unix.Close(fd)
		for _, field := range strings.Fields(string(buf[:max(n, 0)])) {
			if c, err := strconv.Atoi(field); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// pythonExecutable matches the file names of CPython's executables, with
// the minor version when the name has one.
var pythonExecutable = regexp.MustCompile(`^python(?:3(?:\.(\d+))?)?t?$`)

// runsPython reports whether process pid runs a Python that --subprocesses
// could follow: 3.12 or newer, as far as its executable's name tells.
func runsPython(pid int) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && isFollowablePython(strings.TrimSuffix(exe, " (deleted)"))
}

// isFollowablePython tells, by its name, an executable that runs Python
// 3.12 or newer, or a Python whose name gives no minor version.
func isFollowablePython(exe string) bool {
	m := pythonExecutable.FindStringSubmatch(filepath.Base(exe))
	if m == nil {
		return false
	}
	minor, err := strconv.Atoi(m[1])
	return err != nil || minor >= 12
}

// unprofiledNote is the line record ends with when Python children ran
// unprofiled, or "".
func unprofiledNote(calls int64, watched int) string {
	n := max(calls, int64(watched))
	switch {
	case n == 0:
		return ""
	case n == 1:
		return "1 Python child process ran unprofiled (the profile holds the parent, which may have waited for it): --subprocesses profiles it"
	}
	return fmt.Sprintf("%d Python child processes ran unprofiled (the profile holds the parent, which may have waited for them): --subprocesses profiles them", n)
}

// watchUnprofiled counts, when record does not follow children, the
// Python children the program starts: it returns what tells the count
// once the recording is over, as the line to print, "" for none.
func (f *recordFlags) watchUnprofiled(opts *profiler.Options) func(*profiler.Result) string {
	if f.subprocs || f.pid != 0 {
		return func(*profiler.Result) string { return "" }
	}
	var watch *childWatch
	opts.OnStart = func(pid int) { watch = watchChildren(pid) }
	return func(res *profiler.Result) string {
		watched := watch.count()
		if res == nil {
			return ""
		}
		return unprofiledNote(pythonChildCalls(res.Profile)+int64(res.PythonChildren), watched)
	}
}
