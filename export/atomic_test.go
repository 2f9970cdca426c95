package export

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

func TestWriteFileRegular(t *testing.T) {
	fail := errors.New("disk on fire")
	tests := []struct {
		name     string
		write    func(io.Writer) error
		wantErr  error
		wantData string
	}{
		{"success replaces the file", writeString("new"), nil, "new"},
		{"failure leaves the old file", func(w io.Writer) error {
			io.WriteString(w, "half a profi")
			return fail
		}, fail, "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.pb.gz")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := WriteFile(path, tt.write)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("WriteFile = %v, want %v", err, tt.wantErr)
			}
			if data, _ := os.ReadFile(path); string(data) != tt.wantData {
				t.Errorf("file holds %q, want %q", data, tt.wantData)
			}
			checkOnly(t, dir, "out.pb.gz")
			if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want the replaced file's 0600", info.Mode().Perm())
			}
		})
	}
}

// checkOnly fails unless dir holds exactly the names given: no temporary
// file was left behind.
func checkOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

// TestWriteFileNamesNothingWhileWriting: the output is written without a
// name and named only once complete, so that a pyprof killed while writing
// (SIGKILL, which no handler sees) leaves no temporary file behind; where
// the folder's filesystem has no unnamed files, a named one is used.
func TestWriteFileNamesNothingWhileWriting(t *testing.T) {
	dir := t.TempDir()
	if f := createUnnamed(filepath.Join(dir, "probe")); f == nil {
		t.Skip("this filesystem makes no unnamed files (O_TMPFILE)")
	} else {
		f.Close()
	}
	path := filepath.Join(dir, "out.pb.gz")
	for _, existing := range []bool{false, true} {
		err := WriteFile(path, func(w io.Writer) error {
			if existing {
				checkOnly(t, dir, "out.pb.gz")
			} else {
				checkOnly(t, dir)
			}
			_, err := io.WriteString(w, "profile")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		checkOnly(t, dir, "out.pb.gz")
		if b, _ := os.ReadFile(path); string(b) != "profile" {
			t.Errorf("wrote %q", b)
		}
	}
}

func TestWriteFileHonoursUmask(t *testing.T) {
	tests := []struct {
		name  string
		umask int
		want  fs.FileMode
	}{
		{"022", 0o022, 0o644},
		{"077", 0o077, 0o600},
		{"002", 0o002, 0o664},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := unix.Umask(tt.umask)
			defer unix.Umask(old)
			path := filepath.Join(t.TempDir(), "new.svg")
			if err := WriteFile(path, writeString("x")); err != nil {
				t.Fatal(err)
			}
			if info, _ := os.Stat(path); info.Mode().Perm() != tt.want {
				t.Errorf("mode %v under umask %03o, want %v", info.Mode().Perm(), tt.umask, tt.want)
			}
		})
	}
}

func TestWriteFileKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may give a file to another user")
	}
	path := filepath.Join(t.TempDir(), "out.folded")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, writeString("new")); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(path)
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != 4242 || st.Gid != 4343 || info.Mode().Perm() != 0o640 {
		t.Errorf("owner %d:%d mode %v, want 4242:4343 0640 as before", st.Uid, st.Gid, info.Mode().Perm())
	}
}

func TestWriteFileSymlinks(t *testing.T) {
	tests := []struct {
		name string
		// link is where out.svg points, relative to the test's directory;
		// target is the file that link names, created first with mode 0640
		// unless empty.
		link, target string
	}{
		{"to a file", "real.svg", "real.svg"},
		{"to a file in a subdirectory", "sub/real.svg", "sub/real.svg"},
		{"through a chain", "link2.svg", "real.svg"},
		{"dangling: the target is created", "new.svg", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "sub"), 0o755)
			if err := os.Symlink("real.svg", filepath.Join(dir, "link2.svg")); err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, "new.svg")
			if tt.target != "" {
				want = filepath.Join(dir, tt.target)
				if err := os.WriteFile(want, []byte("old"), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(dir, "out.svg")
			if err := os.Symlink(tt.link, link); err != nil {
				t.Fatal(err)
			}
			if err := WriteFile(link, writeString("new")); err != nil {
				t.Fatal(err)
			}
			if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("out.svg is no longer a symlink: %v, %v", info.Mode(), err)
			}
			if data, _ := os.ReadFile(want); string(data) != "new" {
				t.Errorf("%s holds %q, want the new data", filepath.Base(want), data)
			}
			if info, _ := os.Stat(want); tt.target != "" && info.Mode().Perm() != 0o640 {
				t.Errorf("target mode %v, want 0640 as before", info.Mode().Perm())
			}
		})
	}
}

// TestWriteFileRefusesPlantedSymlink: in a sticky folder everyone may
// write, a symlink of another user (neither pyprof's nor the folder's
// owner) is not followed, so that it cannot turn root's output onto a file
// of root's; pyprof's own links there are followed as before.
func TestWriteFileRefusesPlantedSymlink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root may give a symlink to another user")
	}
	dir := t.TempDir()
	shared := filepath.Join(dir, "tmp")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(dir, "secret")
	if err := os.WriteFile(victim, []byte("root's"), 0o600); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(shared, "out.folded")
	if err := os.Symlink(victim, planted); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(planted, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(planted, writeString("new"))
	if err == nil || !strings.Contains(err.Error(), "another user may have planted") {
		t.Errorf("WriteFile through another user's symlink in a shared folder = %v, want it refused", err)
	}
	if data, _ := os.ReadFile(victim); string(data) != "root's" {
		t.Errorf("the link's target holds %q, want it untouched", data)
	}
	own := filepath.Join(shared, "own.folded")
	if err := os.Symlink(victim, own); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(own, writeString("mine")); err != nil {
		t.Errorf("WriteFile through pyprof's user's own symlink: %v", err)
	}
}

func TestWriteFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader that is there before the write, so that opening the FIFO
	// for writing does not wait.
	r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := WriteFile(path, writeString("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if data, _ := io.ReadAll(r); string(data) != "through the pipe" {
		t.Errorf("the reader got %q", data)
	}
	if info, _ := os.Lstat(path); info.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced by a %v", info.Mode())
	}
}

func TestWriteFileOpenFile(t *testing.T) {
	// /dev/stdout leads to /proc/self/fd/1: an open file, not a name.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	path := "/proc/self/fd/" + strconv.Itoa(int(w.Fd()))
	if err := WriteFile(path, writeString("to the fd")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if data, _ := io.ReadAll(r); string(data) != "to the fd" {
		t.Errorf("the pipe got %q", data)
	}
}

func TestWriteFileDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod of a character device needs root")
	}
	// A device of its own, with /dev/null's numbers: writes vanish.
	path := filepath.Join(t.TempDir(), "null")
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod: %v (no device nodes here)", err)
	}
	if err := WriteFile(path, writeString("gone")); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Lstat(path)
	if info.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("the device was replaced by a %v", info.Mode())
	}
	checkOnly(t, filepath.Dir(path), "null")
}

func TestWriteFileRefuses(t *testing.T) {
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro.svg")
	if err := os.WriteFile(readOnly, []byte("keep"), 0o444); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop.svg")
	if err := os.Symlink("loop.svg", loop); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
		wantErr          error
	}{
		{"read-only file, even for root", readOnly, "writing " + readOnly + ": it is read-only", ErrNotWritable},
		{"missing directory", filepath.Join(dir, "no", "out.svg"), "writing " + filepath.Join(dir, "no", "out.svg") + ": open ", nil},
		{"target is a directory", dir, "writing " + dir + ": it is a directory", nil},
		{"symlink loop", loop, "writing " + loop + ": open " + loop + ": too many levels of symbolic links", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFile(tt.path, writeString("new"))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("WriteFile = %v, want it to start %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("WriteFile = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if data, _ := os.ReadFile(readOnly); string(data) != "keep" {
		t.Errorf("the read-only file now holds %q", data)
	}
	checkOnly(t, dir, "loop.svg", "ro.svg")
}

func TestWriteFileNoPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write any file that has a write bit")
	}
	path := filepath.Join(t.TempDir(), "theirs.svg")
	if err := os.WriteFile(path, []byte("keep"), 0o400|0o020); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, writeString("new")); !errors.Is(err, ErrNotWritable) {
		t.Errorf("WriteFile = %v, want ErrNotWritable", err)
	}
}

func TestRemoveTemporaries(t *testing.T) {
	defer func() { temporaries.closed = false }()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.svg")
	// A signal arrives in the middle of the write.
	err := WriteFile(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		RemoveTemporaries()
		return nil
	})
	if !errors.Is(err, errExiting) {
		t.Errorf("WriteFile = %v, want %v", err, errExiting)
	}
	checkOnly(t, dir)
	if err := WriteFile(path, writeString("x")); !errors.Is(err, errExiting) {
		t.Errorf("a write after RemoveTemporaries = %v, want %v", err, errExiting)
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(dir, "ro")
	if err := os.WriteFile(readOnly, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("nowhere/out.pb.gz", dangling); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"writable", filepath.Join(dir, "out.pb.gz"), ""},
		{"existing file", file, ""},
		{"FIFO without a reader, not opened", fifo, ""},
		{"read-only file", readOnly, "cannot write " + readOnly + ": it is read-only (no write permission): make it writable or choose another output path"},
		{"socket", sock, "cannot write " + sock + ": it is a socket: name a file, a FIFO or a device"},
		{"missing directory", filepath.Join(dir, "no", "out.pb.gz"),
			"cannot write " + filepath.Join(dir, "no", "out.pb.gz") + ": directory " + filepath.Join(dir, "no") + " does not exist: create it or choose another output path"},
		{"symlink into a missing directory", dangling,
			"cannot write " + dangling + ": directory " + filepath.Join(dir, "nowhere") + " does not exist: create it or choose another output path"},
		{"parent is a file", filepath.Join(file, "out.pb.gz"),
			"cannot write " + filepath.Join(file, "out.pb.gz") + ": " + file + " is not a directory: choose another output path"},
		{"path is a directory", dir, "cannot write " + dir + ": it is a directory: name a file inside it instead"},
	}
	if os.Geteuid() == 0 {
		// Others may not write to /proc at all, which access(2) says
		// first; root may, as far as permission bits go.
		tests = append(tests, struct{ name, path, want string }{"a directory that takes no new file", "/proc/out.pb.gz",
			"cannot write /proc/out.pb.gz: directory /proc takes no new file (no such file or directory): choose another output path"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckWritable(tt.path)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || err.Error() != tt.want) {
				t.Errorf("CheckWritable = %v, want %q", err, tt.want)
			}
		})
	}
	checkOnly(t, dir, "dangling", "fifo", "plain", "ro", "sock")
}
