package timeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

// event is one trace event. "X" events are complete calls; "M" events name
// processes and threads.
type event struct {
	Name  string         `json:"name"`
	Phase string         `json:"ph"`
	TS    float64        `json:"ts"` // microseconds
	Dur   float64        `json:"dur,omitempty"`
	PID   int64          `json:"pid"`
	TID   int64          `json:"tid"`
	Cat   string         `json:"cat,omitempty"`
	Args  map[string]any `json:"args,omitempty"`
}

// ErrNoTimeline is returned for a profile recorded without a timeline.
var ErrNoTimeline = errors.New("the profile has no timeline: record with --timeline")

func micros(d time.Duration) float64 { return float64(d) / 1e3 }

// trackPID is the process a thread's track is drawn under.
func trackPID(th *callgraph.Thread) int64 {
	if th.PID != 0 {
		return th.PID
	}
	return 1
}

// Write writes p's timeline: one track per thread, named after it, with
// every call that lasted at least p.TimelineMin. The program is process 1;
// a child process it started (record --subprocesses) is a process of its
// own, under its pid.
func Write(w io.Writer, p *callgraph.Profile) error {
	if p.Timeline == nil {
		return ErrNoTimeline
	}
	events := []event{{Name: "process_name", Phase: "M", PID: 1, Args: map[string]any{"name": "python"}}}
	named := map[int64]bool{1: true}
	for _, th := range p.Threads {
		pid := trackPID(th)
		if !named[pid] {
			named[pid] = true
			events = append(events, event{Name: "process_name", Phase: "M", PID: pid, Args: map[string]any{"name": fmt.Sprintf("python (pid %d)", pid)}})
		}
		events = append(events, event{Name: "thread_name", Phase: "M", PID: pid, TID: th.ID, Args: map[string]any{"name": th.Name}})
	}
	for _, s := range p.Timeline {
		f := p.Funcs[s.Func]
		th := p.Threads[s.Thread]
		events = append(events, event{
			Name: f.Name, Phase: "X", TS: micros(s.Start), Dur: micros(s.Dur),
			PID: trackPID(th), TID: th.ID, Cat: f.Kind.String(),
		})
	}
	return json.NewEncoder(w).Encode(map[string]any{
		"traceEvents":     events,
		"displayTimeUnit": "ms",
		"otherData":       map[string]any{"min_duration_us": micros(p.TimelineMin), "generator": "pyprof"},
	})
}
