package sample

import (
	"context"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

// TestFollowChildren: with Follow, the Python children a program starts,
// forked or spawned, are sampled too, their threads labelled with their
// pids; without it, only the program is.
func TestFollowChildren(t *testing.T) {
	forEachPython(t, func(t *testing.T, py python) {
		for _, follow := range []bool{true, false} {
			tg := startTarget(t, py, "children.py")
			p := attach(t, tg)
			// Long enough for the spawned child too, a new interpreter that
			// may take a good part of a second to start.
			prof, _, err := Run(context.Background(), p, Options{Rate: 100, Idle: true, Follow: follow, Duration: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			busy := map[int64]int64{} // pid -> samples in child_busy
			for _, th := range prof.Threads {
				// A spawned child runs the script as __mp_main__, which is
				// the module its child_busy comes from there.
				for _, module := range []string{"__main__", "__mp_main__"} {
					busy[th.PID] += inclusive(prof, th, module+".child_busy", callgraph.Samples)
				}
				if th.PID == int64(tg.pid) {
					t.Errorf("the program's own threads carry its pid; they should carry 0")
				}
			}
			children := 0
			for pid, n := range busy {
				if pid != 0 && n >= 10 {
					children++
				}
			}
			switch {
			case follow && children != 2:
				t.Errorf("following: %d children sampled in child_busy (samples by pid %v), want 2", children, busy)
			case !follow && len(busy) != 1:
				t.Errorf("not following: samples by pid %v, want the program's only", busy)
			}
		}
	})
}
