package callgraph

import "testing"

// TestNextRegion records two regions of one process with one builder: the
// second keeps the definitions of the first and the threads still alive,
// emptied, and forgets ended threads and lost events.
func TestNextRegion(t *testing.T) {
	f := newFixture(t)
	main, f1, g := f.codes["main"], f.codes["f"], f.codes["g"]
	worker := f.b.NewThread(1)
	worker.Name = "worker"
	worker.EnterPython(main, SiteNone, true, 0)
	worker.EnterPython(f1, 12, true, 10)
	ended := f.b.NewThread(2)
	ended.EnterPython(g, SiteNone, true, 0)
	ended.LeavePython(g, 5)
	ended.LeavePython(main, 6) // a frame entered before the region
	f.b.AddLost(3)
	first := f.b.Finish(FinishOptions{End: 20, NanosPerTick: 1})
	if len(first.Threads) != 2 || first.Lost != 3 {
		t.Fatalf("first region: %d threads, %d lost; want 2 and 3", len(first.Threads), first.Lost)
	}

	f.b.NextRegion([]*ThreadBuilder{worker, nil})
	// The worker is still inside f and main: their returns match nothing
	// now, and what it calls afterwards are the region's roots.
	worker.EnterPython(g, 24, true, 30)
	worker.LeavePython(g, 34)
	worker.LeavePython(f1, 40)
	worker.LeavePython(main, 41)
	worker.EnterPython(g, SiteNone, true, 50)
	worker.LeavePython(g, 51)
	second := f.b.Finish(FinishOptions{End: 60, NanosPerTick: 1})

	if len(second.Threads) != 1 {
		t.Fatalf("second region has %d threads, want only the live one", len(second.Threads))
	}
	th := second.Threads[0]
	if th.ID != 1 || th.Name != "worker" {
		t.Errorf("second region's thread is %d %q, want 1 \"worker\"", th.ID, th.Name)
	}
	want := "m.g:0 calls=2 wall=5\n"
	if got := render(second, th); got != want {
		t.Errorf("second region's tree:\n%s\nwant\n%s", got, want)
	}
	if second.Lost != 0 {
		t.Errorf("second region lost %d events, want the first region's 3 forgotten", second.Lost)
	}
	if n := f.b.Mismatched(); n != 2 {
		t.Errorf("second region counts %d mismatched returns, want 2 (f and main)", n)
	}
}
