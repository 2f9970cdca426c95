package profiler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
)

// cancelProgram cancels two tasks 200 ms into their awaits (main lets
// them start and suspend before it sleeps): fetch's,
// which awaits asyncio.sleep through wait, and guarded's, whose careful
// awaits a future, catches the cancellation and awaits a 50 ms sleep
// before it gives up. It then throws into a generator and closes it
// through its yield from. Each throw reaches the innermost frame of its
// chain first.
const cancelProgram = `import asyncio


async def wait(delay):
    await asyncio.sleep(delay)


async def fetch():
    await wait(10)


async def careful():
    future = asyncio.get_running_loop().create_future()
    try:
        await future
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)
        raise


async def guarded():
    await careful()


def inner():
    try:
        yield 1
    except KeyError:
        yield 2


def outer():
    yield from inner()


async def main():
    tasks = [asyncio.create_task(fetch()), asyncio.create_task(guarded())]
    await asyncio.sleep(0)
    await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    g = outer()
    next(g)
    g.throw(KeyError)
    g.close()


asyncio.run(main())
`

// TestRecordAsyncioCancelled: a cancelled task's frames go on in the nodes
// they started in, every function counted as sys.monitoring counts
// PY_START, and the time each awaited until the cancellation is its await
// time, held by the innermost frame of its chain (the throw ended it, which
// was dropped: fetch awaited nothing).
func TestRecordAsyncioCancelled(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cancel.py")
	if err := os.WriteFile(file, []byte(cancelProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		p := record(t, i, k, []string{file}, nil, nil).res.Profile
		assertCountsOfAtLeast(t, p, referenceCounts(t, i, file), file, 8)
		assertNoResumedCalls(t, p, file)
		assertNoResumedSleeps(t, p)
		// 95% of the times slept: the recording's clock, calibrated
		// against the system's, may run a little slow.
		ms := int64(time.Millisecond) * 95 / 100
		for _, c := range []struct {
			path  []string
			least int64
			self  bool
		}{
			{path: []string{"fetch", "wait", "asyncio.tasks.sleep"}, least: 200 * ms, self: true},
			{path: []string{"fetch"}, least: 200 * ms},
			{path: []string{"guarded", "careful"}, least: 200 * ms, self: true},
			{path: []string{"guarded", "careful", "asyncio.tasks.sleep"}, least: 50 * ms, self: true},
			{path: []string{"guarded"}, least: 250 * ms},
		} {
			got := awaitAt(p, file, c.path, c.self)
			if got < c.least || got > p.Duration.Nanoseconds() {
				t.Errorf("%s awaited %v (own only: %v), want %v to the run's %v", strings.Join(c.path, ";"),
					time.Duration(got), c.self, time.Duration(c.least), p.Duration)
			}
		}
	})
}

// assertNoResumedSleeps checks that asyncio.sleep, into which the
// cancellations throw, shows nowhere with 0 calls: its frames go on in the
// nodes they started in.
func assertNoResumedSleeps(t *testing.T, p *callgraph.Profile) {
	t.Helper()
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			if p.Funcs[n.Func].Name == "asyncio.tasks.sleep" && n.Total[callgraph.Calls] == 0 {
				t.Errorf("asyncio.tasks.sleep shows with 0 calls at %s", pathName(p, path))
			}
		})
	}
}

// awaitAt sums the await time of the nodes at the end of path: functions
// of file named by qualname, others by their full name, each the child of
// the one before; own only, when self is set, without their children's.
func awaitAt(p *callgraph.Profile, file string, path []string, self bool) int64 {
	is := func(n *callgraph.Node, name string) bool {
		f := p.Funcs[n.Func]
		if f.Filename == file {
			return strings.HasSuffix(f.Name, "."+name)
		}
		return f.Name == name
	}
	var sum int64
	for _, th := range p.Threads {
		th.Root.Walk(func(nodes []*callgraph.Node) {
			if len(nodes) < len(path) {
				return
			}
			tail := nodes[len(nodes)-len(path):]
			for j, name := range path {
				if !is(tail[j], name) {
					return
				}
			}
			n := tail[len(tail)-1]
			if self {
				sum += n.Self(callgraph.Await)
			} else {
				sum += n.Total[callgraph.Await]
			}
		})
	}
	return sum
}

// sharedProgram advances a generator pipeline (chained delegating to
// numbers) and a coroutine from a pool's threads, under a lock, after the
// main thread created them and advanced each once; it prints how many
// values each thread took.
const sharedProgram = `import json
import threading
from concurrent.futures import ThreadPoolExecutor


def work(i):
    return i * i


def numbers(n):
    for i in range(n):
        yield work(i)


def chained(n):
    yield from numbers(n)


class Step:
    def __await__(self):
        yield


async def job(n):
    for i in range(n):
        await Step()
        work(i)


lock = threading.Lock()
taken = {}


def take(gen):
    with lock:
        if next(gen, None) is not None:
            name = threading.current_thread().name
            taken[name] = taken.get(name, 0) + 1


def drive(coro):
    with lock:
        try:
            coro.send(None)
        except StopIteration:
            pass


def main():
    gen = chained(401)
    next(gen)
    coro = job(100)
    coro.send(None)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: take(gen), range(401)))
        list(pool.map(lambda _: drive(coro), range(100)))
    print(json.dumps(taken))


main()
`

// TestRecordGeneratorAcrossThreads: a generator and a coroutine that one
// thread started and others advance count one call each, their PY_START,
// and each thread's share of their work is charged on that thread, under
// the next() that advanced them there, below a marker that says they were
// resumed there, not called.
func TestRecordGeneratorAcrossThreads(t *testing.T) {
	file := filepath.Join(t.TempDir(), "shared.py")
	if err := os.WriteFile(file, []byte(sharedProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		r := record(t, i, k, []string{file}, nil, nil)
		p := r.res.Profile
		assertCountsOfAtLeast(t, p, referenceCounts(t, i, file), file, 9)
		var taken map[string]int64
		if err := json.Unmarshal([]byte(r.stdout), &taken); err != nil {
			t.Fatalf("the program's report %q: %v", r.stdout, err)
		}
		worked := map[string]int64{}
		for _, th := range p.Threads {
			for path, n := range paths(p, th.Name) {
				if strings.HasSuffix(withoutResumeMarkers(path), "__main__.take;builtins.next;__main__.chained;__main__.numbers;__main__.work") {
					worked[th.Name] += n
				}
			}
		}
		if len(taken) == 0 || len(worked) != len(taken) {
			t.Errorf("threads took values %v, worked on them under next() %v", taken, worked)
		}
		for name, n := range taken {
			if worked[name] != n {
				t.Errorf("%s took %d values and worked on %d of them under its next()", name, n, worked[name])
			}
		}
		assertAdvancedOnEachThread(t, p, file)
	})
}

// withoutResumeMarkers removes the builder's resumption markers from a
// path "a;b;c".
func withoutResumeMarkers(path string) string {
	for _, m := range []string{callgraph.ResumedElsewhereMarker, callgraph.ResumedUnseenMarker} {
		path = strings.ReplaceAll(path, ";"+m, "")
	}
	return path
}

// assertAdvancedOnEachThread checks that on the threads that did not start
// them the generators and the coroutine hang under the call that advanced
// them there, without calls, below a resumption marker, and that none
// holds more wall time than its parent. The marker may say that they
// started before recording: the generator goes back and forth between the
// threads, whose rings are decoded one after the other, and a resumption
// decoded after the thread it left went on with it is matched with
// nothing (see callgraph's suspend.go).
func assertAdvancedOnEachThread(t *testing.T, p *callgraph.Profile, file string) {
	t.Helper()
	parents := map[string]string{"chained": "builtins.next", "numbers": "__main__.chained", "job": "coroutine.send"}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			f := p.Funcs[n.Func]
			want, ok := parents[strings.TrimPrefix(f.Name, "__main__.")]
			if !ok || f.Filename != file || th.Name == "MainThread" {
				return
			}
			marker := path[len(path)-2]
			if name := p.Funcs[marker.Func].Name; name != callgraph.ResumedElsewhereMarker && name != callgraph.ResumedUnseenMarker {
				// numbers resumed with chained, where chained was found.
				marker = n
			}
			if n.Total[callgraph.Wall] > marker.Total[callgraph.Wall] {
				t.Errorf("%s: wall %v over its marker's %v", pathName(p, path),
					time.Duration(n.Total[callgraph.Wall]), time.Duration(marker.Total[callgraph.Wall]))
			}
			parent := path[len(path)-2]
			if marker != n {
				parent = path[len(path)-3]
			}
			if got := p.Funcs[parent.Func].Name; got != want || n.Total[callgraph.Calls] != 0 {
				t.Errorf("%s: %d calls under %s, want 0 under %s", pathName(p, path), n.Total[callgraph.Calls], got, want)
			}
			if n.Total[callgraph.Wall] > parent.Total[callgraph.Wall] {
				t.Errorf("%s: wall %v over its parent's %v", pathName(p, path),
					time.Duration(n.Total[callgraph.Wall]), time.Duration(parent.Total[callgraph.Wall]))
			}
		})
	}
}
