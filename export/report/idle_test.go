package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// pool is a thread pool's profile: the main thread waits for the results
// it asked for, two workers fetch and encode, and wait far longer for
// tasks in their queue's get than they work.
func pool(t *testing.T) *callgraph.Profile {
	t.Helper()
	const worker = "threading.Thread.run;concurrent.futures.thread._worker"
	f := exporttest.NewFixture(callgraph.Calls, callgraph.Wall).
		Fn("_queue.SimpleQueue.get", "", 0, callgraph.KindNative).
		Fn("_thread.lock.acquire", "", 0, callgraph.KindNative).
		Fn("time.sleep", "", 0, callgraph.KindNative).
		Fn("concurrent.futures.thread._worker", "/usr/lib/python3.12/concurrent/futures/thread.py", 69, callgraph.KindPython).
		Fn("threading.Thread.run", "/usr/lib/python3.12/threading.py", 999, callgraph.KindPython)
	f.Add(t, "MainThread", "app.main@5;concurrent.futures._base.Future.result;_thread.lock.acquire", 10, 300*ms)
	for _, name := range []string{"worker-0", "worker-1"} {
		f.Add(t, name, worker+";app.fetch@3;time.sleep", 5, 100*ms).
			Add(t, name, worker+";app.encode@4", 5, 50*ms).
			Add(t, name, worker+";_queue.SimpleQueue.get", 6, 900*ms).
			Add(t, name, worker, 1, 2*ms)
	}
	return f.Profile
}

func TestIdleApart(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *bytes.Buffer, p *callgraph.Profile) error
		want  []string // lines, in this order
		never []string
	}{
		{
			"report: the work leads, the idle waiting apart",
			func(w *bytes.Buffer, p *callgraph.Profile) error {
				return Write(w, p, Options{Aligned: true, Top: 3})
			},
			[]string{
				"Showing 3 of 8 functions by flat; wall total 600ms (idle apart)",
				"idle, apart from the total: 1.80s thread pool workers waiting for tasks (2 threads)",
				"_thread.lock.acquire",
				"time.sleep",
				"app.encode",
			},
			[]string{"SimpleQueue.get"},
		},
		{
			"report --idle: as wall time counts it",
			func(w *bytes.Buffer, p *callgraph.Profile) error {
				return Write(w, p, Options{Aligned: true, Top: 1, Idle: true})
			},
			[]string{"Showing 1 of 9 functions by flat; wall total 2.40s (idle included)", "_queue.SimpleQueue.get"},
			[]string{"idle, apart"},
		},
		{
			"report --tree",
			func(w *bytes.Buffer, p *callgraph.Profile) error {
				return WriteTree(w, p, TreeOptions{MinShare: 1})
			},
			[]string{
				"Call tree by wall (idle apart); total 600ms; contexts under 1% (6.00ms) folded",
				"idle, apart from the total: 1.80s thread pool workers waiting for tasks (2 threads)",
				"worker-0 (101): 150ms",
				"app.encode ×5",
			},
			[]string{"SimpleQueue.get"},
		},
		{
			"the exit tree",
			func(w *bytes.Buffer, p *callgraph.Profile) error { return WriteBrief(w, p, BriefOptions{}) },
			[]string{
				"Where the time went: 600ms wall (idle apart) in 3 threads, calls exact\n  (under 2% not shown)",
				"idle, apart from the total: 1.80s thread pool workers waiting for tasks\n  (2 threads)",
				"MainThread",
				"app.fetch",
			},
			[]string{"SimpleQueue.get"},
		},
		{
			"report on an 80-column terminal: the idle line wraps",
			func(w *bytes.Buffer, p *callgraph.Profile) error {
				return Write(w, p, Options{Aligned: true, Top: 3, Width: 80})
			},
			[]string{
				"Showing 3 of 8 functions by flat; wall total 600ms (idle apart)\n",
				"idle, apart from the total: 1.80s thread pool workers waiting for tasks\n  (2 threads)\n",
			},
			nil,
		},
		{
			"report --tree on an 80-column terminal",
			func(w *bytes.Buffer, p *callgraph.Profile) error {
				return WriteTree(w, p, TreeOptions{MinShare: 1, Width: 80})
			},
			[]string{
				"Call tree by wall (idle apart); total 600ms; contexts under 1% (6.00ms) folded\n",
				"idle, apart from the total: 1.80s thread pool workers waiting for tasks\n  (2 threads)\n",
			},
			nil,
		},
		{
			"calls are calls: nothing apart",
			func(w *bytes.Buffer, p *callgraph.Profile) error {
				v := callgraph.Calls
				return Write(w, p, Options{Aligned: true, Top: 0, Value: &v, Sort: SortName})
			},
			[]string{"Showing 9 of 9 functions by name; calls total 44", "_queue.SimpleQueue.get"},
			[]string{"idle"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pool(t)
			var out bytes.Buffer
			if err := tt.write(&out, p); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(text[at:], w)
				if i < 0 {
					t.Fatalf("no %q after offset %d in\n%s", w, at, text)
				}
				at += i + len(w)
			}
			if strings.Contains(tt.name, "80-column") {
				for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
					if Columns(line) > 80 {
						t.Errorf("%d columns: %q", Columns(line), line)
					}
				}
			}
			for _, n := range tt.never {
				if strings.Contains(text, n) {
					t.Errorf("%q in\n%s", n, text)
				}
			}
		})
	}
}

func TestFunctionsLeaveIdleOut(t *testing.T) {
	p := pool(t)
	before, err := Functions(p, callgraph.Wall, "")
	if err != nil {
		t.Fatal(err)
	}
	after, err := Functions(apart(p, callgraph.Wall, false), callgraph.Wall, "")
	if err != nil {
		t.Fatal(err)
	}
	var idle int64
	for _, k := range after.Idle {
		idle += k.Value
	}
	if after.Total+idle != before.Total || idle != 1804*ms {
		t.Errorf("total %d + idle %d, want %d with 1804ms idle (the queue's get and the loop's own time)", after.Total, idle, before.Total)
	}
}

// TestTreeFitsTerminal: report --tree on a narrow terminal cuts names from
// the left and leaves out locations that would not fit beside them, so no
// row of a tree this shallow wraps, and each name keeps its own end.
func TestTreeFitsTerminal(t *testing.T) {
	const width = 60
	var out bytes.Buffer
	if err := WriteTree(&out, pool(t), TreeOptions{Width: width, Idle: true}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if n := Columns(line); n > width {
			t.Errorf("%d columns: %q", n, line)
		}
	}
	for _, end := range []string{"_worker", "Future.result", "SimpleQueue.get", "lock.acquire"} {
		if !strings.Contains(text, end) {
			t.Errorf("no %q in\n%s", end, text)
		}
	}
}
