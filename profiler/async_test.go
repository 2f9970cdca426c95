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

// crawlerProgram is a small crawler: three worker tasks take URLs from a
// queue and await fetch, which awaits asyncio.sleep; the crawl then awaits
// a task of its own, and main sleeps once more.
const crawlerProgram = `import asyncio


def parse(url):
    return len(url)


async def fetch(url, delay):
    await asyncio.sleep(delay)
    return parse(url)


async def worker(queue, results):
    while True:
        url = await queue.get()
        try:
            results.append(await fetch(url, 0.05))
        finally:
            queue.task_done()


async def crawl(urls):
    queue = asyncio.Queue()
    results = []
    workers = [asyncio.create_task(worker(queue, results)) for _ in range(3)]
    for url in urls:
        queue.put_nowait(url)
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    index = await asyncio.create_task(fetch("index", 0.1))
    return len(results) + index


async def main():
    n = await crawl([f"u{i}" for i in range(9)])
    await asyncio.sleep(0.1)
    return n


asyncio.run(main())
`

// TestRecordAsyncio records the crawler and checks that its tasks read as
// asyncio users think of them: every coroutine counted as sys.monitoring
// counts PY_START, no resumption shown as a call, the tasks under the
// module line that ran asyncio.run rather than under the event loop's
// frames, and the time each coroutine spent awaiting charged to it.
func TestRecordAsyncio(t *testing.T) {
	file := filepath.Join(t.TempDir(), "crawler.py")
	if err := os.WriteFile(file, []byte(crawlerProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		p := record(t, i, k, []string{file}, nil, nil).res.Profile
		assertCountsOf(t, p, referenceCounts(t, i, file), file)
		if !p.Has(callgraph.Await) {
			t.Fatalf("profile values %v have no await", p.Values)
		}
		assertNoResumedCalls(t, p, file)
		assertTasksOutsideTheLoop(t, p, file)
		assertAwaits(t, p, file)
	})
}

// assertCountsOf checks that every function of file was called exactly as
// often as sys.monitoring raised PY_START for it, finding functions by
// file, first line and qualname, whatever module name they carry.
func assertCountsOf(t *testing.T, p *callgraph.Profile, ref map[funcKey]int64, file string) {
	t.Helper()
	assertCountsOfAtLeast(t, p, ref, file, 5)
}

// assertNoResumedCalls checks that no Python frame of file shows with 0
// calls: a resumption continues the frame that started. The events name
// the code, not the frame, so the suspensions of tasks of one coroutine
// function can be told apart only by where they suspended; asyncio's own
// coroutines that several such tasks await (Queue.get) may then resume in a
// node of their own, which counts no call rather than a wrong one.
func assertNoResumedCalls(t *testing.T, p *callgraph.Profile, file string) {
	t.Helper()
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			if f := p.Funcs[n.Func]; f.Kind == callgraph.KindPython && f.Filename == file && n.Total[callgraph.Calls] == 0 {
				t.Errorf("%s shows with 0 calls at %s", f.Name, pathName(p, path))
			}
		})
	}
}

// assertTasksOutsideTheLoop checks that none of the program's frames runs
// under the event loop's frames, that the tasks stand under the module at
// the line of asyncio.run, and that each node's children took no more wall
// time than it did.
func assertTasksOutsideTheLoop(t *testing.T, p *callgraph.Profile, file string) {
	t.Helper()
	runLine := lineOf(t, file, "asyncio.run(main())")
	tasks := map[string]int64{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			if p.Funcs[n.Func].Filename != file {
				return
			}
			for _, a := range path[:len(path)-1] {
				name := p.Funcs[a.Func].Name
				if strings.HasSuffix(name, "._run_once") || strings.HasSuffix(name, "Handle._run") || strings.HasSuffix(name, "Context.run") {
					t.Errorf("%s runs under the event loop: %s", p.Funcs[n.Func].Name, pathName(p, path))
					break
				}
			}
			if len(path) == 2 && n.CallLine == runLine && strings.HasSuffix(p.Funcs[path[0].Func].Name, ".<module>") {
				tasks[qualname(p, n)] += n.Total[callgraph.Calls]
			}
		})
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			var children int64
			for _, c := range n.Children {
				children += c.Total[callgraph.Wall]
			}
			if children > n.Total[callgraph.Wall] {
				t.Errorf("%s: children's wall %v over its own %v", pathName(p, path),
					time.Duration(children), time.Duration(n.Total[callgraph.Wall]))
			}
		})
	}
	// main's task, the three workers, the crawl's own fetch task.
	want := map[string]int64{"main": 1, "worker": 3, "fetch": 1}
	for name, n := range want {
		if tasks[name] != n {
			t.Errorf("%d %s tasks under the module's line %d, want %d (all: %v)", tasks[name], name, runLine, n, tasks)
		}
	}
}

// assertAwaits checks the await time of the program's coroutines against
// the sleeps they awaited: each fetch at least its sleep, each coroutine
// at least the await time of the coroutines it awaited, and nothing more
// than the tasks could have waited in the program's time.
func assertAwaits(t *testing.T, p *callgraph.Profile, file string) {
	t.Helper()
	await := map[string]int64{}
	calls := map[string]int64{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			if p.Funcs[n.Func].Filename != file {
				return
			}
			name := qualname(p, n)
			for _, a := range path[:len(path)-1] {
				if a.Func == n.Func {
					return // counted at the outer frame, inclusive
				}
			}
			await[name] += n.Total[callgraph.Await]
			calls[name] += n.Total[callgraph.Calls]
			for _, c := range n.Children {
				if c.Total[callgraph.Await] > n.Total[callgraph.Await] {
					t.Errorf("%s awaited %v, less than %s under it (%v)", pathName(p, path),
						time.Duration(n.Total[callgraph.Await]), p.Funcs[c.Func].Name, time.Duration(c.Total[callgraph.Await]))
				}
			}
		})
	}
	ms := int64(time.Millisecond)
	// Nine fetches sleep 50 ms and one 100 ms; main sleeps 100 ms after
	// awaiting the crawl, which awaits the index fetch.
	min := map[string]int64{"fetch": 9*50*ms + 100*ms, "worker": 9 * 50 * ms, "crawl": 100 * ms, "main": 200 * ms}
	for name, least := range min {
		if await[name] < least {
			t.Errorf("%s awaited %v in all, less than the %v it slept", name, time.Duration(await[name]), time.Duration(least))
		}
	}
	if calls["fetch"] != 10 || calls["parse"] != 10 {
		t.Errorf("fetch called %d times and parse %d, want 10 each", calls["fetch"], calls["parse"])
	}
	// At most the five coroutines alive at once (main, crawl, three
	// workers with their fetches) waited the whole run.
	if most := 5 * p.Duration.Nanoseconds(); await["fetch"]+await["worker"]+await["main"] > 2*most {
		t.Errorf("awaits %v over what the run's %v allows", await, p.Duration)
	}
	if await["parse"] != 0 {
		t.Errorf("parse, a plain function, awaited %v", time.Duration(await["parse"]))
	}
}

// qualname returns the part of n's function name after the module.
func qualname(p *callgraph.Profile, n *callgraph.Node) string {
	name := p.Funcs[n.Func].Name
	return name[strings.LastIndex(name, ".")+1:]
}

func pathName(p *callgraph.Profile, path []*callgraph.Node) string {
	names := make([]string, len(path))
	for i, n := range path {
		names[i] = p.Funcs[n.Func].Name
	}
	return strings.Join(names, ";")
}

// timerTasksProgram runs 300 tasks of one coroutine function that a timer
// wakes and that then await a chain of the same coroutine: tasks of one
// code resume in another order than they suspended, and the builder may
// not tell their suspensions apart.
const timerTasksProgram = `import asyncio

async def rec(n):
    if n == 0:
        await asyncio.sleep(0)
        return
    await rec(n - 1)

async def task():
    await asyncio.sleep(0.01)
    await rec(5)

async def main():
    await asyncio.gather(*(task() for _ in range(300)))

asyncio.run(main())
`

// TestRecordAsyncioTimerTasks: however the resumptions of such tasks are
// matched, every function is counted exactly as sys.monitoring raised
// PY_START for it (a resumption the builder could not match counted a
// second call of the whole chain: rec 2034-2694 times for 1800).
func TestRecordAsyncioTimerTasks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "timers.py")
	if err := os.WriteFile(file, []byte(timerTasksProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		p := record(t, i, k, []string{file}, nil, nil).res.Profile
		assertCountsOf(t, p, referenceCounts(t, i, file), file)
	})
}
