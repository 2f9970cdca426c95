package profiler

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/profiler/agent"
)

// resumptionsProgram suspends several frames of one function at once and
// resumes them in another order than they suspended, in the three ways the
// events' code alone could not tell apart: generators of one function
// interleaved, each delegating to another generator; tasks of one coroutine
// woken in the reverse order, each awaiting another coroutine; thousands of
// tasks of one coroutine, whose frames share tags, woken oldest first;
// thousands of chains of generators ten frames deep, made one after the
// other (their frames at the same stride in memory, which a hash of the
// frame's address must not turn into the same run of tags), thrown into or
// sent to in shuffled order; and a generator started on one thread and run to its end on another (one that
// came back to the thread it left is not matched there when that thread's
// ring is decoded first; see the builder's resumptions).
const resumptionsProgram = `import asyncio
import random
import threading


def leaf_a():
    yield 1
    yield 2


def leaf_b():
    yield 3
    yield 4


def outer(which):
    yield from (leaf_a() if which else leaf_b())


def interleaved():
    for _ in range(20):
        first, second = outer(True), outer(False)
        next(first)
        next(second)
        next(second)
        next(first)
        for g in (second, first):
            for _ in g:
                pass


async def part_a(fut):
    return await fut


async def part_b(fut):
    return await fut


async def work(i, fut):
    if i % 2:
        return await part_a(fut)
    return await part_b(fut)


async def reversed_tasks():
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(6)]
    tasks = [asyncio.create_task(work(i, f)) for i, f in enumerate(futures)]
    await asyncio.sleep(0)
    for f in reversed(futures):
        f.set_result(1)
        await asyncio.sleep(0)
    return sum(await asyncio.gather(*tasks))


async def step_inner(i):
    await asyncio.sleep(0)
    return i


async def step_outer(i):
    return await step_inner(i) + await step_inner(i)


async def many_tasks():
    # Thousands of tasks of one coroutine share the few frame tags there
    # are; the loop resumes them oldest first.
    return sum(await asyncio.gather(*(step_outer(i) for i in range(3000))))


def chain_leaf():
    yield 1
    yield 2


def chain_mid(depth):
    if depth == 0:
        return (yield from chain_leaf())
    return (yield from chain_mid(depth - 1))


def chain_top():
    try:
        return (yield from chain_mid(9))
    except KeyError:
        return -1


def thrown_chains():
    chains = [chain_top() for _ in range(8000)]
    for g in chains:
        next(g)
    order = list(range(len(chains)))
    random.Random(2).shuffle(order)
    for i in order:
        try:
            if i % 2:
                chains[i].throw(KeyError)
            else:
                chains[i].send(None)
        except StopIteration:
            pass


def counter():
    for n in range(4):
        yield n


def advance(g):
    for _ in g:
        pass


def handed_over():
    g = counter()
    next(g)
    t = threading.Thread(target=advance, args=(g,))
    t.start()
    t.join()


interleaved()
asyncio.run(reversed_tasks())
asyncio.run(many_tasks())
thrown_chains()
handed_over()
`

// TestRecordResumptionsByFrame records resumptionsProgram and checks that
// every function counts exactly the PY_START events sys.monitoring raised,
// and that none of its frames, all started while recording, shows as a call
// counted 0 times: a resumption goes on in the node its frame started in,
// told from the other frames of its code by its frame tag, but for the
// generator advanced on another thread, which runs there below the marker
// that says so; and that no thread's calls took more wall time than the
// recording did (a throw into the wrong chain makes the unwinds after it
// end frames that started long before).
func TestRecordResumptionsByFrame(t *testing.T) {
	file := filepath.Join(t.TempDir(), "resumptions.py")
	if err := os.WriteFile(file, []byte(resumptionsProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachSetup(t, func(t *testing.T, i *agent.Interpreter, k agent.Kind) {
		p := record(t, i, k, []string{file}, nil, nil).res.Profile
		assertCountsOf(t, p, referenceCounts(t, i, file), file)
		elsewhere := 0
		for _, th := range p.Threads {
			var wall int64
			for _, n := range th.Root.Children {
				wall += n.Total[callgraph.Wall]
			}
			if wall > p.Duration.Nanoseconds() {
				t.Errorf("thread %s: its calls took %v of wall time, in a recording of %v", th.Name, time.Duration(wall), p.Duration)
			}
			th.Root.Walk(func(path []*callgraph.Node) {
				n := path[len(path)-1]
				f := p.Funcs[n.Func]
				if f.Name == callgraph.ResumedUnseenMarker {
					t.Errorf("a resumption matched nothing: %s", pathName(p, path))
				}
				if f.Kind != callgraph.KindPython || f.Filename != file || n.Total[callgraph.Calls] != 0 {
					return
				}
				if qualname(p, n) == "counter" && slices.ContainsFunc(path, func(a *callgraph.Node) bool {
					return p.Funcs[a.Func].Name == callgraph.ResumedElsewhereMarker
				}) {
					elsewhere++
					return
				}
				t.Errorf("%s shows with 0 calls at %s", f.Name, pathName(p, path))
			})
		}
		if elsewhere != 1 {
			t.Errorf("the generator advanced on another thread runs in %d nodes below %q, want 1",
				elsewhere, callgraph.ResumedElsewhereMarker)
		}
	})
}
