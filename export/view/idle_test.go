package view

import (
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

const (
	worker = "threading.Thread.run;concurrent.futures.thread._worker"
	loop   = "asyncio.base_events.BaseEventLoop.run_forever;asyncio.base_events.BaseEventLoop._run_once"
)

func TestFoldIdle(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{
			"a thread pool worker's wait for tasks, its own time with it",
			[]string{
				"threading.Thread.run 1 1000",
				worker + " 1 1000",
				worker + ";concurrent.futures.thread._WorkItem.run 10 300",
				worker + ";concurrent.futures.thread._WorkItem.run;app.fetch 10 300",
				worker + ";_queue.SimpleQueue.get 11 650",
			},
			`threading.Thread.run 1 300
  concurrent.futures.thread._worker 1 300
    concurrent.futures.thread._WorkItem.run 10 300
      app.fetch 10 300
[idle: thread pool workers waiting for tasks] 0 700
  concurrent.futures.thread._worker 0 50
  _queue.SimpleQueue.get 11 650
`,
		},
		{
			"an event loop's selector, not the program's own queue.get",
			[]string{
				"asyncio.base_events.BaseEventLoop.run_forever 1 1000",
				loop + " 6 1000",
				loop + ";selectors._PollLikeSelector.select 5 900",
				loop + ";selectors._PollLikeSelector.select;select.epoll.poll 5 890",
				loop + ";asyncio.events.Handle._run 5 100",
				loop + ";asyncio.events.Handle._run;queue.Queue.get 5 100",
			},
			`asyncio.base_events.BaseEventLoop.run_forever 1 100
  asyncio.base_events.BaseEventLoop._run_once 6 100
    asyncio.events.Handle._run 5 100
      queue.Queue.get 5 100
[idle: event loop waiting for I/O or timers] 0 900
  selectors._PollLikeSelector.select 5 900
    select.epoll.poll 5 890
`,
		},
		{
			"a process pool's task handler, which waits in its own time",
			[]string{
				"threading.Thread.run 1 1000",
				"threading.Thread.run;multiprocessing.pool.Pool._handle_tasks 1 990",
				"threading.Thread.run;multiprocessing.pool.Pool._handle_tasks;multiprocessing.connection._ConnectionBase.send 40 90",
			},
			`threading.Thread.run 1 100
  multiprocessing.pool.Pool._handle_tasks 1 90
    multiprocessing.connection._ConnectionBase.send 40 90
[idle: process pool's handler threads waiting] 0 900
  multiprocessing.pool.Pool._handle_tasks 0 900
`,
		},
		{
			"a process pool worker's task unpickled in its get is work, not waiting",
			[]string{
				"multiprocessing.pool.worker 1 1000",
				"multiprocessing.pool.worker;_queue.SimpleQueue.get 3 900",
				"multiprocessing.pool.worker;_queue.SimpleQueue.get;_pickle.loads 3 400",
				"multiprocessing.pool.worker;_queue.SimpleQueue.get;_pickle.loads;app.Big.__setstate__ 3 390",
			},
			`multiprocessing.pool.worker 1 500
  _pickle.loads 3 400
    app.Big.__setstate__ 3 390
[idle: process pool workers waiting for tasks] 0 500
  _queue.SimpleQueue.get 3 500
`,
		},
		{
			"no pool, nothing moves",
			[]string{"app.main 1 100", "app.main;queue.Queue.get 1 90"},
			"app.main 1 100\n  queue.Queue.get 1 90\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, tt.lines...)
			before := dump(p)
			q := FoldIdle(p)
			if got := dump(q); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if dump(p) != before {
				t.Errorf("FoldIdle changed its input:\n%s", dump(p))
			}
			if p.Total(callgraph.Wall) != q.Total(callgraph.Wall) || p.Total(callgraph.Calls) != q.Total(callgraph.Calls) {
				t.Errorf("totals %d wall, %d calls became %d, %d", p.Total(callgraph.Wall), p.Total(callgraph.Calls), q.Total(callgraph.Wall), q.Total(callgraph.Calls))
			}
			if again := dump(FoldIdle(q)); again != dump(q) {
				t.Errorf("folding twice moved more:\n%s", again)
			}
		})
	}
}

func TestIsIdle(t *testing.T) {
	q := FoldIdle(build(t, worker+" 1 10", worker+";_queue.SimpleQueue.get 1 5"))
	var idle []string
	for _, f := range q.Funcs {
		if IsIdle(f) {
			idle = append(idle, f.Name)
		}
	}
	if strings.Join(idle, ",") != "[idle: thread pool workers waiting for tasks]" {
		t.Errorf("idle frames %q", idle)
	}
}
