package timeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pyprof/pyprof/callgraph"
)

func TestWrite(t *testing.T) {
	p := &callgraph.Profile{
		Funcs:   []callgraph.Func{{Name: "app.main", Filename: "app.py"}, {Name: "builtins.len", Kind: callgraph.KindNative}},
		Threads: []*callgraph.Thread{{ID: 7, Name: "MainThread", Root: &callgraph.Node{}}, {ID: 8, Name: "worker", Root: &callgraph.Node{}}},
		Timeline: []callgraph.Span{
			{Thread: 0, Func: 0, Start: 0, Dur: 3 * time.Millisecond},
			{Thread: 1, Func: 1, Start: 1500 * time.Microsecond, Dur: 250 * time.Microsecond},
		},
		TimelineMin: 100 * time.Microsecond,
	}
	doc := writeDoc(t, p)
	var calls, names []string
	for _, e := range doc.TraceEvents {
		switch e.Phase {
		case "X":
			calls = append(calls, e.Name)
			if e.Name == "builtins.len" && (e.TID != 8 || e.TS != 1500 || e.Dur != 250 || e.Cat != "native") {
				t.Errorf("native call event %+v", e)
			}
		case "M":
			names = append(names, e.Args["name"].(string))
		}
	}
	if len(calls) != 2 || len(names) != 3 || names[1] != "MainThread" || names[2] != "worker" {
		t.Errorf("calls %v, names %v", calls, names)
	}
}

// TestWriteChildProcess: a child process's threads are drawn under its pid.
func TestWriteChildProcess(t *testing.T) {
	p := &callgraph.Profile{
		Funcs:    []callgraph.Func{{Name: "app.main"}},
		Threads:  []*callgraph.Thread{{ID: 7, Name: "MainThread", Root: &callgraph.Node{}}, {ID: 42, PID: 42, Name: "MainThread", Root: &callgraph.Node{}}},
		Timeline: []callgraph.Span{{Thread: 1, Func: 0, Dur: time.Millisecond}},
	}
	doc := writeDoc(t, p)
	var got []string
	for _, e := range doc.TraceEvents {
		got = append(got, fmt.Sprintf("%s %d/%d", e.Name, e.PID, e.TID))
	}
	want := "process_name 1/0, thread_name 1/7, process_name 42/0, thread_name 42/42, app.main 42/42"
	if strings.Join(got, ", ") != want {
		t.Errorf("events %s, want %s", strings.Join(got, ", "), want)
	}
}

func TestWriteWithoutTimeline(t *testing.T) {
	if err := Write(&bytes.Buffer{}, &callgraph.Profile{}); !errors.Is(err, ErrNoTimeline) {
		t.Errorf("error %v, want ErrNoTimeline", err)
	}
}

// traceDoc is the part of a written timeline the tests read.
type traceDoc struct {
	TraceEvents []event `json:"traceEvents"`
}

// writeDoc writes p's timeline and reads it back.
func writeDoc(t *testing.T, p *callgraph.Profile) traceDoc {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, p); err != nil {
		t.Fatal(err)
	}
	var doc traceDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
