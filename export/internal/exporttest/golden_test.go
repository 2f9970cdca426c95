package exporttest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatal stops only the check under test
// and keeps the message.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// check runs g.Check in its own goroutine, so Fatal can end it, and returns
// the failure message, "" if it passed.
func check(t *testing.T, g Golden, path string, got []byte) string {
	t.Helper()
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.Check(r, path, got)
	}()
	<-done
	return r.msg
}

func TestGoldenCheck(t *testing.T) {
	long := strings.Repeat("x", 20)
	tests := []struct {
		name string
		clip int
		want string
		got  string
		msg  string // "" when the check passes
	}{
		{"equal", 0, "a\nb\n", "a\nb\n", ""},
		{"second line", 0, "a\nb\n", "a\nc\n", "line 2 differs (run go test -update if intended)\ngot:  \"c\"\nwant: \"b\""},
		{"extra line", 0, "a\n", "a\nb\n", "line 2 differs (run go test -update if intended)\ngot:  \"b\"\nwant: \"\""},
		{"unclipped", 0, long, long + "y", "got:  \"" + long + "y\"\nwant: \"" + long + "\""},
		{"clipped", 5, long, "x" + long, "got:  \"xxxxx\"\nwant: \"xxxxx\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "golden.txt")
			if err := os.WriteFile(path, []byte(tt.want), 0o644); err != nil {
				t.Fatal(err)
			}
			msg := check(t, Golden{Clip: tt.clip}, path, []byte(tt.got))
			switch {
			case tt.msg == "" && msg != "":
				t.Errorf("Check failed with %q, want it to pass", msg)
			case tt.msg != "" && !(strings.HasPrefix(msg, path+": ") && strings.HasSuffix(msg, tt.msg)):
				t.Errorf("Check failed with %q, want the path then %q", msg, tt.msg)
			}
		})
	}
}

func TestGoldenUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "golden.txt")
	update := true
	if msg := check(t, Golden{Update: &update}, path, []byte("new\n")); msg != "" {
		t.Fatalf("updating: %s", msg)
	}
	update = false
	if msg := check(t, Golden{Update: &update}, path, []byte("new\n")); msg != "" {
		t.Errorf("after update: %s", msg)
	}
}

func TestGoldenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.txt")
	msg := check(t, Golden{}, path, nil)
	if !strings.HasSuffix(msg, "(run go test -update to create it)") {
		t.Errorf("missing golden: %q", msg)
	}
}
