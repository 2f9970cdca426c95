package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
)

// The cache holds what a recorded program loads and runs: the bootstrap, the
// twin, the C agent. Whoever can write any folder on its path, or swap one
// for a symlink, can run code as the user who records (root included). So:
//   - it is never under a shared temporary folder by a fixed name: with HOME
//     unset (cron, systemd units, some containers) the home directory comes
//     from the user database, never from os.TempDir;
//   - every folder from / down to the cache belongs to root or to the user,
//     and none is writable by others unless it is sticky (/tmp), where only
//     an entry's owner may rename or remove it;
//   - pyprof's own folders and files belong to the user and are writable by
//     no one else, and none of them is a symlink.

// ErrCache wraps every reason the cache folder cannot be trusted or made.
var ErrCache = errors.New("cache folder")

// CacheDir returns pyprof's cache folder, creating it (0700) if needed, after
// checking that no other user can reach anything on its path.
func CacheDir() (string, error) {
	base, err := cacheBase()
	if err != nil {
		return "", err
	}
	// The base (~/.cache) may be missing on a fresh account; its parent must not.
	if err := os.Mkdir(base, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("%w: creating %s: %v: set XDG_CACHE_HOME to a folder of yours", ErrCache, base, err)
	}
	// Resolve symlinks the user chose (a home on another disk), then check the
	// resolved chain: from then on nothing on it can change but by root or us.
	real, err := filepath.EvalSymlinks(base)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrCache, err)
	}
	if err := checkAncestors(real); err != nil {
		return "", err
	}
	dir := filepath.Join(real, "pyprof")
	if err := privateDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// cacheBase is $XDG_CACHE_HOME, else ~/.cache, where ~ is $HOME or, when that
// is unset or relative, the home directory the user database gives.
func cacheBase() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Clean(d), nil
	}
	home := os.Getenv("HOME")
	if !filepath.IsAbs(home) {
		u, err := user.Current()
		if err != nil || !filepath.IsAbs(u.HomeDir) {
			return "", fmt.Errorf("%w: HOME is not set and the user database gives no home: set XDG_CACHE_HOME to a folder only you can write", ErrCache)
		}
		home = u.HomeDir
	}
	return filepath.Join(home, ".cache"), nil
}

// checkAncestors checks path and every folder above it; path is resolved,
// so none of them is a symlink.
func checkAncestors(path string) error {
	for p := path; ; p = filepath.Dir(p) {
		info, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrCache, err)
		}
		if err := trustedAncestor(p, info); err != nil {
			return err
		}
		if p == "/" {
			return nil
		}
	}
}

func trustedAncestor(path string, info fs.FileInfo) error {
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is not a folder", ErrCache, path)
	}
	if uid := ownerOf(info); uid != 0 && uid != os.Geteuid() {
		return untrusted(path, fmt.Sprintf("belongs to user %d", uid))
	}
	if info.Mode().Perm()&0o022 != 0 && info.Mode()&fs.ModeSticky == 0 {
		return untrusted(path, "is writable by others")
	}
	return nil
}

func untrusted(path, why string) error {
	return fmt.Errorf("%w: %s %s, so another user could replace what pyprof runs: set XDG_CACHE_HOME to a folder only you can write", ErrCache, path, why)
}

func ownerOf(info fs.FileInfo) int {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// privateDir makes sure path is a folder of the user's that no one else can
// write: created 0700 when missing; an existing one must already be so (it
// is refused, never repaired: someone else may have put files in it).
func privateDir(path string) error {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: creating %s: %v", ErrCache, path, err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCache, err)
	}
	return checkPrivate(path, info, true)
}

// privateFile checks a file pyprof is about to hand to the program.
func privateFile(path string) error { return existingPrivate(path, false) }

// existingPrivate checks, without creating anything, that path is a private
// folder (dir) or file of the user's.
func existingPrivate(path string, dir bool) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return checkPrivate(path, info, dir)
}

func checkPrivate(path string, info fs.FileInfo, dir bool) error {
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		return untrusted(path, "is a symlink")
	case dir && !info.IsDir(), !dir && !info.Mode().IsRegular():
		return untrusted(path, "is not what pyprof made there")
	case ownerOf(info) != os.Geteuid():
		return untrusted(path, fmt.Sprintf("belongs to user %d", ownerOf(info)))
	case info.Mode().Perm()&0o022 != 0:
		return untrusted(path, "is writable by others")
	}
	return nil
}

// writeCached stores content under a name derived from its hash, unless a
// private file with exactly that content is already there. Python sources
// written this way get no bytecode cached (blockBytecode).
func writeCached(dir, stem, ext string, content []byte) (string, error) {
	if ext == ".py" {
		if err := blockBytecode(dir); err != nil {
			return "", err
		}
	}
	return writeHashNamed(dir, stem, ext, content)
}

// writeCachedModule is writeCached for a Python module whose bytecode the
// interpreter may cache in dir's __pycache__, which the caller made
// private (bootDir).
func writeCachedModule(dir, stem string, content []byte) (string, error) {
	return writeHashNamed(dir, stem, ".py", content)
}

func writeHashNamed(dir, stem, ext string, content []byte) (string, error) {
	path := filepath.Join(dir, stem+"-"+hashOf(content)[:16]+ext)
	if privateFile(path) == nil {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
			return path, nil
		}
	}
	return path, writeAtomic(path, content, 0o600)
}

// blockBytecode keeps Python from caching bytecode for the sources pyprof
// hands it in dir: a .pyc in dir/__pycache__ is run instead of the source
// it was compiled from, so one written there (by another user, under a
// umask that left the folder open) would bypass the hash that vouches
// for the source. A private empty file named __pycache__ makes Python's
// reads and writes of that folder fail, which it takes quietly: it
// compiles the source every time (a few milliseconds).
func blockBytecode(dir string) error {
	path := filepath.Join(dir, "__pycache__")
	if existingPrivate(path, false) == nil {
		return nil
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("%w: removing %s: %v", ErrCache, path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) && existingPrivate(path, false) == nil {
			return nil // another pyprof made it meanwhile
		}
		return fmt.Errorf("%w: creating %s: %v", ErrCache, path, err)
	}
	return f.Close()
}

// writeAtomic writes into a fresh file beside path and renames it into
// place, so a reader never sees half a file. The rename also replaces
// whatever stood at path, a symlink included.
func writeAtomic(path string, content []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
