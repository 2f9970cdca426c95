package profiler

import (
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
