package sample

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseMaps(t *testing.T) {
	text := `55d0c8a00000-55d0c8a01000 r--p 00000000 08:01 131 /root/.pyenv/versions/3.12.1/bin/python3.12
7f3a1c000000-7f3a1c021000 rw-p 00000000 00:00 0
7f3a1d000000-7f3a1d0b0000 r--p 00000000 08:01 200 /root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0
7f3a1d0b0000-7f3a1d300000 r-xp 000b0000 08:01 200 /root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0
7f3a1e000000-7f3a1e001000 r--p 00000000 08:01 300 /tmp/dir with space/libc.so.6
7ffd4c000000-7ffd4c021000 rw-p 00000000 00:00 0 [stack]
`
	maps, err := parseMaps(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 4 {
		t.Fatalf("%d file mappings, want 4: %+v", len(maps), maps)
	}
	if m := maps[2]; m.start != 0x7f3a1d0b0000 || m.end != 0x7f3a1d300000 || m.offset != 0xb0000 {
		t.Errorf("mapping %+v", m)
	}
	if maps[3].path != "/tmp/dir with space/libc.so.6" {
		t.Errorf("path %q", maps[3].path)
	}
	cands := pythonCandidates(maps)
	want := []string{"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", "/root/.pyenv/versions/3.12.1/bin/python3.12"}
	if strings.Join(cands, ",") != strings.Join(want, ",") {
		t.Errorf("candidates %q, want %q", cands, want)
	}
}

func TestStatState(t *testing.T) {
	for line, want := range map[string]byte{
		"123 (python3.12) R 1 2 3":   'R',
		"123 (weird) name)) S 1 2 3": 'S',
		"123 (a b) D 1":              'D',
		"garbage":                    0,
		"123 (cut)":                  0,
	} {
		if got := statState([]byte(line)); got != want {
			t.Errorf("statState(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestVersion(t *testing.T) {
	if v := versionFromHex(0x030c01f0); v.String() != "3.12.1" || !v.atLeast(3, 12) || v.atLeast(3, 13) {
		t.Errorf("0x030c01f0: %v", v)
	}
	if v, ok := versionFromName("/usr/lib/libpython3.11.so.1.0"); !ok || v.String() != "3.11" {
		t.Errorf("versionFromName: %v %v", v, ok)
	}
}

func TestReadErrors(t *testing.T) {
	m := &memReader{pid: 4242}
	if err := m.classify(unix.EPERM, 0x1000); !strings.Contains(err.Error(), "CAP_SYS_PTRACE") {
		t.Errorf("EPERM: %v", err)
	} else if pe := (*PermissionError)(nil); !errors.As(err, &pe) || !errors.Is(err, unix.EPERM) {
		t.Errorf("EPERM: %T", err)
	}
	if err := m.classify(unix.ESRCH, 0x1000); !errors.Is(err, ErrProcessExited) {
		t.Errorf("ESRCH: %v", err)
	}
	if err := m.classify(unix.EFAULT, 0x1000); !retryable(err) {
		t.Errorf("EFAULT: %v is not retryable", err)
	}
}

func TestAttachRefusesOldPython(t *testing.T) {
	var old *python
	for _, p := range findPythons() {
		if p.major == 3 && p.minor < 12 {
			old = &p
		}
	}
	if old == nil {
		t.Skip("no Python older than 3.12 found")
	}
	tg := startTarget(t, *old, "sleeping.py")
	_, err := Attach(tg.pid)
	var uv *UnsupportedVersionError
	if !errors.As(err, &uv) || uv.Version.Minor != old.minor {
		t.Fatalf("Attach: %v, want UnsupportedVersionError for 3.%d", err, old.minor)
	}
	if !strings.Contains(err.Error(), "3.12 or newer") {
		t.Errorf("error %q does not say what is needed", err)
	}
}

func TestAttachNotPython(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if _, err := Attach(cmd.Process.Pid); !errors.Is(err, ErrNotPython) {
		t.Errorf("Attach(sleep): %v, want ErrNotPython", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := AttachWait(ctx, cmd.Process.Pid); !errors.Is(err, ErrNotPython) {
		t.Errorf("AttachWait(sleep): %v, want ErrNotPython after the deadline", err)
	}
}

func TestAttachGone(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	if _, err := Attach(cmd.Process.Pid); !errors.Is(err, ErrProcessExited) {
		t.Errorf("Attach(exited): %v, want ErrProcessExited", err)
	}
}

// TestAttachZombie: a process that has exited and that its parent has not
// reaped yet has nothing to read; it is refused as exited, not as a
// process that runs no Python.
func TestAttachZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for !gone(cmd.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_, err := Attach(cmd.Process.Pid)
	if !errors.Is(err, ErrProcessExited) || !strings.Contains(fmt.Sprint(err), "zombie") {
		t.Errorf("Attach(zombie): %v, want ErrProcessExited saying it is a zombie", err)
	}
}

// TestPermissionDenied attaches, as an unprivileged user, to a Python run
// by root: the error must be a *PermissionError that says what to do. It
// reruns this test binary as user nobody, so it needs root.
func TestPermissionDenied(t *testing.T) {
	if pid := os.Getenv("PYPROF_TEST_ATTACH_PID"); pid != "" {
		permissionChild(t, pid)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	tg := startTarget(t, supportedPythons(t)[0], "sleeping.py")
	// The child runs a copy of this binary that nobody may execute.
	dir, err := os.MkdirTemp("", "pyprof-perm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "sample.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestPermissionDenied$", "-test.v")
	cmd.Env = append(os.Environ(), "PYPROF_TEST_ATTACH_PID="+strconv.Itoa(tg.pid))
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS") || !strings.Contains(string(out), "CAP_SYS_PTRACE") {
		t.Errorf("child did not pass:\n%s", out)
	}
}

// permissionChild is TestPermissionDenied run as nobody.
func permissionChild(t *testing.T, pidText string) {
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Attach(pid)
	var pe *PermissionError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "CAP_SYS_PTRACE") {
		t.Fatalf("Attach as nobody: %v, want a PermissionError naming CAP_SYS_PTRACE", err)
	}
	m := &memReader{pid: pid}
	if err := m.read(0x1000, make([]byte, 8)); !errors.As(err, &pe) {
		t.Fatalf("process_vm_readv as nobody: %v, want a PermissionError", err)
	}
	t.Log(err)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
