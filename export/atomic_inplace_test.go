package export

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// writeAsEnv names the file a child test process writes with WriteFile.
const writeAsEnv = "PYPROF_TEST_WRITE_FILE"

// TestWriteFileChild is the child of TestWriteFileInPlaceWhenRenameRefused:
// it writes one file as another user and reports the error on stderr.
func TestWriteFileChild(t *testing.T) {
	path := os.Getenv(writeAsEnv)
	if path == "" {
		t.Skip("runs only as the child of TestWriteFileInPlaceWhenRenameRefused")
	}
	if err := WriteFile(path, writeString("new")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// A file of another user that everyone may write, in a sticky folder such
// as /tmp, cannot be replaced by rename (the kernel refuses with EPERM),
// yet a shell's > writes it: WriteFile writes it in place then, and the
// file keeps its owner.
func TestWriteFileInPlaceWhenRenameRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	dir, err := os.MkdirTemp("", "sticky")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shared.folded")
	if err := os.WriteFile(path, []byte("old contents, longer than the new"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}

	const nobody = 65534
	cmd := exec.Command(copyForAll(t, dir), "-test.run=^TestWriteFileChild$")
	cmd.Env = append(os.Environ(), writeAsEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("WriteFile as user %d: %v: %s", nobody, err, out)
	}

	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("the file holds %q, want %q", data, "new")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if uid := info.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Errorf("the file is owned by %d now, want it kept by root", uid)
	}
	checkOnly(t, dir, "bin", "shared.folded")
}

// copyForAll copies the test binary, which the build keeps in a folder of
// root's alone, to a folder in dir that every user may enter.
func copyForAll(t *testing.T, dir string) string {
	t.Helper()
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(bin, "export.test")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}
