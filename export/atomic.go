package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotWritable marks an output file that exists but may not be written:
// read-only, or the user lacks permission. The CLI reports it as an output
// failure rather than a usage error.
var ErrNotWritable = errors.New("output may not be written")

// notWritable is an ErrNotWritable that says why in its own words.
type notWritable struct{ error }

func (notWritable) Is(target error) bool { return target == ErrNotWritable }

// WriteFile writes the output path through write the way any tool writes
// to what it is told to, without ever replacing something that is not a
// regular file:
//
//   - a symlink is followed as open(2) follows it, and its target written;
//     the link stays a link;
//   - a regular file, or a new one, is written all or nothing: the bytes go
//     to a temporary file in the same directory, which replaces the file
//     only once write succeeded and the data is on disk, with the replaced
//     file's permission bits (and owner, when running as root); a new file
//     gets 0666 less the umask;
//   - anything else (a character device such as /dev/null, a FIFO,
//     /dev/stdout) is opened and written in place.
//
// A regular file with no write permission bit at all is refused, for root
// too: that is how a file is marked read-only on purpose. Otherwise a file
// the user may not write, by access(2), is refused; both are ErrNotWritable.
// On any error a temporary file is removed and a replaced file left as it
// was, so a failed export never leaves half a profile behind. The one
// exception is a file the rename may not replace but the user may write
// (another user's, in a sticky folder): it is written in place, as a
// shell's > would write it.
func WriteFile(path string, write func(io.Writer) error) error {
	t, err := resolve(path)
	if err == nil {
		err = t.check()
	}
	if err == nil && t.inPlace {
		err = t.writeInPlace(write)
	} else if err == nil {
		err = t.replace(write)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// CheckWritable reports, before a long recording starts, whether WriteFile
// could write path, by the same rules and access(2), opening no existing
// file (opening a FIFO would wait for a reader). A file written in place is
// checked by its type and access; otherwise the directory must exist and
// take new files, which a file made there and removed at once shows.
func CheckWritable(path string) error {
	t, err := resolve(path)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := t.check(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if t.inPlace {
		return nil
	}
	dir := dirOf(t.path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: directory %s does not exist: create it or choose another output path", path, dir)
	case err != nil:
		return fmt.Errorf("cannot write %s: %w", path, err)
	case !info.IsDir():
		return fmt.Errorf("cannot write %s: %s is not a directory: choose another output path", path, dir)
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("cannot write %s: directory %s: %w: choose a directory you can write to", path, dir, err)
	}
	// Permission bits are not the whole story (/proc, a full inode table, a
	// filesystem that refuses new names): a file made there, and removed,
	// is, before the program runs rather than after.
	if f := createUnnamed(t.path); f != nil {
		f.Close() // nothing was named: nothing to remove
		return nil
	}
	probe, err := os.CreateTemp(dir, ".pyprof-check-*")
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return fmt.Errorf("cannot write %s: directory %s takes no new file (%w): choose another output path", path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// target is what an output path names once its symlinks are followed.
type target struct {
	// path is the file to write: the end of the path's symlinks.
	path string
	// info describes it; nil when it does not exist yet.
	info fs.FileInfo
	// inPlace says to open and write path itself rather than replace it.
	inPlace bool
}

// maxSymlinks is how many symlinks Linux follows before it gives up.
const maxSymlinks = 40

// resolve follows path's symlinks as open(2) would, to the file it names.
// A symlink in /proc (such as /dev/stdout's /proc/self/fd/1) names an open
// file rather than a path, so it is written in place, where open(2) reaches
// what it stands for.
func resolve(path string) (target, error) {
	p := path
	for range maxSymlinks {
		info, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
			// A new file: CheckWritable says what is wrong with its
			// directory, and creating it fails if anything is.
			return target{path: p}, nil
		case err != nil:
			return target{}, err
		case info.Mode()&fs.ModeSymlink == 0:
			return target{path: p, info: info, inPlace: !info.Mode().IsRegular()}, nil
		case onProcFS(dirOf(p)):
			info, err := os.Stat(p)
			if err != nil {
				return target{}, err
			}
			return target{path: p, info: info, inPlace: true}, nil
		}
		if err := checkPlanted(p, info); err != nil {
			return target{}, err
		}
		link, err := os.Readlink(p)
		if err != nil {
			return target{}, err
		}
		p = linkTarget(p, link)
	}
	return target{}, &fs.PathError{Op: "open", Path: path, Err: syscall.ELOOP}
}

// checkPlanted refuses to follow a symlink that another user may have
// planted to turn pyprof's write onto a file of pyprof's user: one in a
// sticky folder that everyone may write (/tmp), owned by neither that user
// nor the folder's owner. The kernel refuses to follow such links where
// fs.protected_symlinks is on, as most systems have it; pyprof reads links
// itself, to replace their target whole, and would bypass that guard.
func checkPlanted(link string, info fs.FileInfo) error {
	linkSt, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	dir := dirOf(link)
	dirInfo, err := os.Stat(dir)
	if err != nil {
		return err
	}
	dirSt, ok := dirInfo.Sys().(*syscall.Stat_t)
	shared := dirInfo.Mode()&fs.ModeSticky != 0 && dirInfo.Mode().Perm()&0o002 != 0
	if !ok || !shared || linkSt.Uid == uint32(os.Geteuid()) || linkSt.Uid == dirSt.Uid {
		return nil
	}
	return &fs.PathError{Op: "open", Path: link, Err: fmt.Errorf(
		"a symlink of user %d in the shared folder %s, which another user may have planted: pyprof does not follow it; remove it or write elsewhere",
		linkSt.Uid, dir)}
}

// linkTarget is where the symlink p pointing to link leads. It joins the
// two without cleaning, since ".." after a symlinked directory means what
// the kernel says, not what the text says.
func linkTarget(p, link string) string {
	if strings.HasPrefix(link, "/") {
		return link
	}
	return p[:strings.LastIndexByte(p, '/')+1] + link
}

// dirOf is the directory holding path, uncleaned for the same reason.
func dirOf(path string) string {
	i := strings.LastIndexByte(path, '/')
	switch {
	case i < 0:
		return "."
	case i == 0:
		return "/"
	}
	return path[:i]
}

func onProcFS(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// check refuses what WriteFile must not or cannot write.
func (t target) check() error {
	if t.info == nil {
		return nil // a new file: its directory decides
	}
	mode := t.info.Mode()
	switch {
	case mode.IsDir():
		return errors.New("it is a directory: name a file inside it instead")
	case mode&fs.ModeSocket != 0:
		return errors.New("it is a socket: name a file, a FIFO or a device")
	case mode.IsRegular() && mode.Perm()&0o222 == 0:
		return notWritable{errors.New("it is read-only (no write permission): make it writable or choose another output path")}
	}
	if err := unix.Access(t.path, unix.W_OK); err != nil {
		return notWritable{fmt.Errorf("%w: choose a file you may write", err)}
	}
	return nil
}

// writeInPlace writes a device, a FIFO or an open file as it is.
func (t target) writeInPlace(write func(io.Writer) error) error {
	// O_TRUNC matters only when /dev/stdout leads to a regular file.
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replace writes a regular file, or a new one, through a temporary file
// renamed over it.
func (t target) replace(write func(io.Writer) error) (err error) {
	// The file is written unnamed where the filesystem allows, and named
	// only once complete, just before it is renamed into place: a pyprof
	// killed meanwhile, by SIGKILL too, leaves nothing behind.
	f := createUnnamed(t.path)
	name := ""
	if f == nil {
		if f, err = createTemp(t.path); err != nil {
			return err
		}
		name = f.Name()
	}
	defer func() {
		if err != nil {
			f.Close()
			if name != "" {
				removeTemp(name)
			}
		}
	}()
	if t.info != nil {
		if err := keepAttributes(f, t.info); err != nil {
			return err
		}
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// Without the sync, a crash soon after the rename can leave an empty
	// file under the final name.
	if err := f.Sync(); err != nil {
		return err
	}
	if name == "" {
		if name, err = nameUnnamed(f, t.path, t.info); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	err = renameTemp(name, t.path)
	if t.info != nil && errors.Is(err, fs.ErrPermission) && unix.Access(t.path, unix.W_OK) == nil {
		return t.copyInPlace(name)
	}
	return err
}

// copyInPlace writes the finished temporary file into the file it was to
// replace, truncating it as a shell's > would, when the kernel refuses the
// rename but not the write: a file of another user that everyone may
// write, in a sticky folder such as /tmp. Only then can a failure leave
// the file half written. The temporary file is removed either way.
func (t target) copyInPlace(temp string) error {
	defer removeTemp(temp)
	src, err := os.Open(temp)
	if err != nil {
		return err
	}
	defer src.Close()
	return t.writeInPlace(func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// keepAttributes gives the temporary file the permission bits of the file
// it replaces, and its owner when running as root (who alone may give a
// file away), so that replacing a file does not change who may read it.
func keepAttributes(f *os.File, old fs.FileInfo) error {
	if st, ok := old.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return f.Chmod(old.Mode().Perm())
}

// temporaries tracks the temporary files being written, so that a signal
// handler can remove them before the process exits.
var temporaries = struct {
	sync.Mutex
	paths map[string]bool
	// closed is set once they were removed: the process is exiting and
	// no new one may start.
	closed bool
}{paths: map[string]bool{}}

var errExiting = errors.New("pyprof is exiting")

// createTemp creates a temporary file next to path, named after it, with
// mode 0666 less the umask, as the file it becomes would have been.
func createTemp(path string) (*os.File, error) {
	temporaries.Lock()
	defer temporaries.Unlock()
	if temporaries.closed {
		return nil, errExiting
	}
	dir, base := dirOf(path), path[strings.LastIndexByte(path, '/')+1:]
	for range 100 {
		name := dir + "/." + base + "." + strconv.FormatUint(uint64(rand.Uint32()), 10) + ".tmp"
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		temporaries.paths[name] = true
		return f, nil
	}
	return nil, fmt.Errorf("no free temporary name next to %s", path)
}

// createUnnamed opens a file without a name (O_TMPFILE) in the folder of
// path, nil where the kernel or the filesystem makes none (an older
// kernel, some network filesystems): createTemp's named file then.
func createUnnamed(path string) *os.File {
	dir := dirOf(path)
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), dir+"/(unnamed)")
}

// nameUnnamed links the complete unnamed file f under a temporary name
// next to path, which renameTemp moves into place, and returns the name.
// A link through /proc that fails, /proc missing, falls back to a named
// temporary file with f's contents and the attributes of info, the file
// replaced (nil for none).
func nameUnnamed(f *os.File, path string, info fs.FileInfo) (string, error) {
	name, err := linkTemp(f, path)
	if err == nil {
		return name, nil
	}
	if errors.Is(err, errExiting) {
		return "", err
	}
	named, err := createTemp(path)
	if err != nil {
		return "", err
	}
	if info != nil {
		err = keepAttributes(named, info)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err == nil {
		_, err = io.Copy(named, f)
	}
	if err == nil {
		err = named.Sync()
	}
	if cerr := named.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		removeTemp(named.Name())
		return "", err
	}
	return named.Name(), nil
}

// linkTemp gives f a free temporary name next to path.
func linkTemp(f *os.File, path string) (string, error) {
	temporaries.Lock()
	defer temporaries.Unlock()
	if temporaries.closed {
		return "", errExiting
	}
	dir, base := dirOf(path), path[strings.LastIndexByte(path, '/')+1:]
	from := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	for range 100 {
		name := dir + "/." + base + "." + strconv.FormatUint(uint64(rand.Uint32()), 10) + ".tmp"
		err := unix.Linkat(unix.AT_FDCWD, from, unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return "", err
		}
		temporaries.paths[name] = true
		return name, nil
	}
	return "", fmt.Errorf("no free temporary name next to %s", path)
}

func removeTemp(name string) error {
	temporaries.Lock()
	defer temporaries.Unlock()
	delete(temporaries.paths, name)
	return os.Remove(name)
}

// renameTemp moves a finished temporary file into place, unless the
// process is exiting and the file is already gone.
func renameTemp(name, path string) error {
	temporaries.Lock()
	defer temporaries.Unlock()
	if temporaries.closed {
		return errExiting
	}
	delete(temporaries.paths, name)
	return os.Rename(name, path)
}

// RemoveTemporaries removes the temporary files of the outputs being
// written and fails any write that would start or finish after it. A
// signal handler calls it just before the process exits, so that an
// interrupted export leaves nothing behind.
func RemoveTemporaries() {
	temporaries.Lock()
	defer temporaries.Unlock()
	temporaries.closed = true
	for name := range temporaries.paths {
		os.Remove(name)
		delete(temporaries.paths, name)
	}
}
