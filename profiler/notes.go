package profiler

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// programNotes reads what the bootstrap tells of the program that the
// profile cannot show: a call that tried to change pyprof's
// sys.monitoring events (kept from doing so), an exec that ended the
// recording. One line each on a pipe, "NANOS TEXT" with NANOS read on
// CLOCK_MONOTONIC; the program's end of it closes on exec.
type programNotes struct {
	r, w  *os.File
	done  chan struct{}
	notes []programNote
	// execNanos is when the program exec'd, 0 when it has not or the
	// exec failed: read while the notes still come in.
	execNanos atomic.Int64
}

type programNote struct {
	nanos int64
	text  string
}

// notesFD is the pipe's descriptor in the program: after the shared
// memory's, the first of cmd.ExtraFiles.
const notesFD = 4

func newProgramNotes() (*programNotes, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("making the pipe the program's notes come through: %w", err)
	}
	return &programNotes{r: r, w: w, done: make(chan struct{})}, nil
}

// read collects notes until the pipe closes; call it once the program has
// started, which holds its own end now.
func (pn *programNotes) read() {
	pn.w.Close()
	go func() {
		defer close(pn.done)
		lines := bufio.NewScanner(pn.r)
		for lines.Scan() {
			nanos, text, ok := strings.Cut(lines.Text(), " ")
			if n, err := strconv.ParseInt(nanos, 10, 64); ok && err == nil {
				pn.notes = append(pn.notes, programNote{n, text})
				pn.sawExec(n, text)
			}
		}
	}()
}

// sawExec keeps when the program exec'd, or forgets it when that failed.
func (pn *programNotes) sawExec(nanos int64, text string) {
	switch kind, _, _ := strings.Cut(text, " "); kind {
	case "exec":
		pn.execNanos.Store(nanos)
	case "exec-failed":
		pn.execNanos.Store(0)
	}
}

// execAt returns when the program replaced itself with another (on
// CLOCK_MONOTONIC), or 0; always 0 without notes (a region of a program
// pyprof did not start).
func (pn *programNotes) execAt() int64 {
	if pn == nil {
		return 0
	}
	return pn.execNanos.Load()
}

// finish returns the notes once the program has exited. A forked child
// still running may hold the pipe open: what the program wrote before it
// exited is read, and no more is waited for.
func (pn *programNotes) finish() []programNote {
	_ = pn.r.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	<-pn.done
	pn.r.Close()
	return pn.notes
}

// explainNotes says what the notes mean for the profile, startNanos being
// when the recording began on CLOCK_MONOTONIC.
func explainNotes(notes []programNote, startNanos int64, toolID int) []string {
	var msgs []string
	var exec *programNote
	for k, n := range notes {
		at := time.Duration(n.nanos - startNanos).Round(time.Millisecond)
		kind, detail, _ := strings.Cut(n.text, " ")
		switch kind {
		case "monitoring":
			msgs = append(msgs, fmt.Sprintf("at %v the program called sys.monitoring.%s on tool id %d, pyprof's: "+
				"it acted as on an id the program never claimed, so the profile is whole (--tool-id N leaves %d to the program)",
				at, detail, toolID, toolID))
		case "exec":
			exec = &notes[k]
		case "exec-failed":
			exec = nil
		}
	}
	if exec != nil {
		_, detail, _ := strings.Cut(exec.text, " ")
		at := time.Duration(exec.nanos - startNanos).Round(time.Millisecond)
		msgs = append(msgs, fmt.Sprintf("at %v the program replaced itself with another (%s): the profile ends there "+
			"(--subprocesses would follow a Python program)", at, detail))
	}
	return msgs
}
