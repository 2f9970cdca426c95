package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/export/report"
)

// deepProfile is a chain of depth calls, each frame holding nearly all the
// time, so that its tree is as long as the room it is given.
func deepProfile(depth int) *callgraph.Profile {
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Calls, callgraph.Wall}, Default: callgraph.Wall}
	root := &callgraph.Node{}
	n := root
	for i := range depth {
		id := p.AddFunc(callgraph.Func{Name: fmt.Sprintf("__main__.step_%02d", i), Filename: "/srv/app/deep.py", StartLine: i + 1, Kind: callgraph.KindPython})
		n = n.Child(id, int32(i+1))
		n.Total[callgraph.Calls] = 1
		n.Total[callgraph.Wall] = int64(1000-i) * 1_000_000
	}
	p.Threads = []*callgraph.Thread{{ID: 1, Name: "MainThread", Root: root}}
	return p
}

// openSizedTerminal opens a new pseudo-terminal of cols×rows (a new one
// is 0×0, as some CI runners' are) and returns both ends: pyprof writes
// to tty, the test reads what it wrote from ptmx.
func openSizedTerminal(t *testing.T, cols, rows int) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	size := &unix.Winsize{Col: uint16(cols), Row: uint16(rows)}
	if err := unix.IoctlSetWinsize(int(ptmx.Fd()), unix.TIOCSWINSZ, size); err != nil {
		t.Fatalf("sizing the pseudo-terminal: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}

// onTerminal runs write with a terminal of cols×rows and returns what
// the terminal received, its lines ended by "\n" again.
func onTerminal(t *testing.T, cols, rows int, write func(tty *os.File)) string {
	t.Helper()
	ptmx, tty := openSizedTerminal(t, cols, rows)
	read := make(chan []byte)
	go func() {
		var out bytes.Buffer
		_, err := io.Copy(&out, ptmx)
		// The far end closed: Linux says so with EIO.
		if err != nil && !errors.Is(err, syscall.EIO) {
			t.Errorf("reading the terminal: %v", err)
		}
		read <- out.Bytes()
	}()
	write(tty)
	tty.Close()
	return strings.ReplaceAll(string(<-read), "\r\n", "\n")
}

// treeLine is a line of the tree itself: a thread's, or a context's,
// which starts with its value.
var treeLine = regexp.MustCompile(`^(MainThread |\s+[0-9.]+[mun]?s )`)

// TestExitTreeSize: the exit tree fills the terminal it is given, leaving
// room for the lines record prints after it, and a terminal whose size is
// unknown (0×0) gets the default screen: 80 columns and DefaultBriefLines
// rows of tree, not the 8 rows a size of 0 left.
func TestExitTreeSize(t *testing.T) {
	tests := []struct {
		name       string
		cols, rows int
		width      int // the widest line allowed
		treeLines  int // lines of the tree: the thread's and its contexts'
	}{
		{"size unknown", 0, 0, report.DefaultWidth, report.DefaultBriefLines},
		{"width unknown", 0, 40, report.DefaultWidth, report.DefaultBriefLines},
		{"rows unknown", 100, 0, 100, report.DefaultBriefLines},
		{"small", 60, 20, 60, 20 - exitTreeChrome},
		{"large", 120, 60, 120, report.DefaultBriefLines},
	}
	outs := []output{{path: "deep.pb.gz", format: export.Pprof}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := onTerminal(t, tt.cols, tt.rows, func(tty *os.File) { writeExitTree(tty, deepProfile(80), outs) })
			lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			tree := 0
			for _, line := range lines {
				if n := report.Columns(line); n > tt.width {
					t.Errorf("a line of %d columns, over %d: %q", n, tt.width, line)
				}
				if treeLine.MatchString(line) {
					tree++
				}
			}
			if tree != tt.treeLines {
				t.Errorf("%d lines of tree, want %d:\n%s", tree, tt.treeLines, text)
			}
			// The summary and the commands to look further follow.
			if tt.rows > 0 && len(lines)+2 > tt.rows {
				t.Errorf("%d lines on a terminal of %d rows leave no room for the summary:\n%s", len(lines), tt.rows, text)
			}
			if !strings.Contains(text, "pyprof report --tree deep.pb.gz") {
				t.Errorf("the cut tree does not say where the rest is:\n%s", text)
			}
		})
	}
}
