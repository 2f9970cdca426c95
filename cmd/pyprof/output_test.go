package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writerChildEnv names the output a re-executed test binary writes, in
// TestSignalDuringWrite's child, instead of running the tests.
const writerChildEnv = "PYPROF_TEST_WRITER_CHILD"

// TestSignalDuringWrite sends a signal to a pyprof process in the middle
// of writing an output: it exits with 128+N and leaves no temporary file;
// a signal it was started with ignored stays ignored.
func TestSignalDuringWrite(t *testing.T) {
	if path := os.Getenv(writerChildEnv); path != "" {
		writeForever(path)
		return
	}
	tests := []struct {
		name string
		// ignore is a signal the child starts with ignored, sent first.
		ignore string
		send   syscall.Signal
	}{
		{"SIGTERM", "", syscall.SIGTERM},
		{"SIGINT", "", syscall.SIGINT},
		{"SIGHUP", "", syscall.SIGHUP},
		{"SIGHUP ignored at start, then SIGTERM", "HUP", syscall.SIGTERM},
		{"SIGINT ignored at start, then SIGTERM", "INT", syscall.SIGTERM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.svg")
			// The shell's trap ignores the signal for what it execs, as
			// nohup does.
			cmd := exec.Command("sh", "-c", `trap "" `+tt.ignore+`; exec "$0" -test.run='^TestSignalDuringWrite$'`, os.Args[0])
			if tt.ignore == "" {
				cmd = exec.Command(os.Args[0], "-test.run=^TestSignalDuringWrite$")
			}
			cmd.Env = append(os.Environ(), writerChildEnv+"="+out)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForWriting(t, stdout)
			if tt.ignore != "" {
				cmd.Process.Signal(map[string]syscall.Signal{"HUP": syscall.SIGHUP, "INT": syscall.SIGINT}[tt.ignore])
				// Were it not ignored, the child would be gone by the time
				// the next signal arrives, with the wrong status.
				time.Sleep(100 * time.Millisecond)
			}
			cmd.Process.Signal(tt.send)
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(tt.send) {
				t.Errorf("child ended with %v, want exit status %d; stderr:\n%s", err, 128+int(tt.send), stderr.String())
			}
			if !strings.Contains(stderr.String(), "pyprof: "+tt.send.String()+" while writing outputs; unfinished ones removed") {
				t.Errorf("stderr does not say why it stopped:\n%s", stderr.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left %v behind", entries)
			}
		})
	}
}

// writeForever writes path as pyprof writes outputs, but never finishes;
// it says "writing" on standard output once it has begun.
func writeForever(path string) {
	writeFile(path, io.Discard, func(w io.Writer) error {
		io.WriteString(w, "<svg")
		fmt.Println("writing")
		time.Sleep(time.Minute)
		return nil
	})
	os.Exit(0)
}

// waitForWriting waits until the child says it is writing its output.
func waitForWriting(t *testing.T, stdout io.Reader) {
	t.Helper()
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		said <- line
	}()
	select {
	case line := <-said:
		if line != "writing\n" {
			t.Fatalf("the child said %q, not that it was writing", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not begin writing within 10s")
	}
}
