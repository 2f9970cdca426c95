package agent

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// privateBase returns a folder for XDG_CACHE_HOME whose whole path is
// trusted: t.TempDir is under the sticky, root-owned /tmp.
func privateBase(t *testing.T) string {
	t.Helper()
	base := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", base)
	return base
}

func TestCacheDirRefusesWhatOthersCanReach(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, base string)
		want  string // "" for a usable cache
	}{
		{"fresh", func(*testing.T, string) {}, ""},
		{"pyprof folder is a symlink", func(t *testing.T, base string) {
			elsewhere := t.TempDir()
			must(t, os.Symlink(elsewhere, filepath.Join(base, "pyprof")))
		}, "is a symlink"},
		{"pyprof folder writable by others", func(t *testing.T, base string) {
			must(t, os.Mkdir(filepath.Join(base, "pyprof"), 0o700))
			must(t, os.Chmod(filepath.Join(base, "pyprof"), 0o777))
		}, "is writable by others"},
		{"pyprof folder is a file", func(t *testing.T, base string) {
			must(t, os.WriteFile(filepath.Join(base, "pyprof"), nil, 0o600))
		}, "is not what pyprof made there"},
		{"an ancestor writable by others", func(t *testing.T, base string) {
			must(t, os.Chmod(base, 0o777))
		}, "is writable by others"},
		{"a sticky ancestor writable by others", func(t *testing.T, base string) {
			must(t, os.Chmod(base, 0o777|os.ModeSticky))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := privateBase(t)
			tt.setup(t, base)
			dir, err := CacheDir()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CacheDir = %v, want a usable cache", err)
			case tt.want == "" && dir != filepath.Join(base, "pyprof"):
				t.Fatalf("CacheDir = %s, want it under %s", dir, base)
			case tt.want != "" && (err == nil || !errors.Is(err, ErrCache) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CacheDir = %q, %v; want an error saying %q", dir, err, tt.want)
			}
		})
	}
}

// Another user's folder, even 0700, is not pyprof's to use: they could
// have put anything in it before handing it over.
func TestCacheDirRefusesAnotherUsersFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a folder to another user")
	}
	base := privateBase(t)
	dir := filepath.Join(base, "pyprof")
	must(t, os.Mkdir(dir, 0o700))
	must(t, os.Chown(dir, 65534, 65534))
	if _, err := CacheDir(); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
		t.Fatalf("CacheDir = %v, want it refused as another user's", err)
	}
}

// With HOME unset, the cache is under the home the user database gives,
// never under a shared temporary folder by a name anyone can take first.
func TestCacheDirWithoutHome(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	u, err := user.Current()
	if err != nil || u.HomeDir == "" {
		t.Skip("the user database gives no home here")
	}
	base, err := cacheBase()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(u.HomeDir, ".cache"); base != want {
		t.Fatalf("cache base %s, want %s", base, want)
	}
	if strings.HasPrefix(base, os.TempDir()) {
		t.Fatalf("cache base %s is under the shared %s", base, os.TempDir())
	}
}

// A built agent whose folder others can write is not loaded, however well
// its hash file matches: they could have written both.
func TestVerifiedRefusesAReachableAgent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "agent-x")
	must(t, os.Mkdir(dir, 0o700))
	so := filepath.Join(dir, "_pyprof_agent.so")
	must(t, os.WriteFile(so, []byte("planted"), 0o700))
	must(t, os.WriteFile(so+".sha256", []byte(hashOf([]byte("planted"))+"\n"), 0o600))
	if !verified(so) {
		t.Fatal("a private agent with a matching hash is not verified")
	}
	must(t, os.Chmod(dir, 0o777))
	if verified(so) {
		t.Fatal("an agent in a folder anyone can write was verified")
	}
	must(t, os.Chmod(dir, 0o700))
	must(t, os.Chmod(so, 0o722))
	if verified(so) {
		t.Fatal("an agent file anyone can write was verified")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCachedSourcesGetNoBytecode: Python runs a __pycache__/*.pyc in
// place of the source beside it, which would bypass the hash that vouches
// for a cached source. A planted __pycache__ folder is removed, and
// Python, importing a cached source, neither reads nor writes bytecode.
func TestCachedSourcesGetNoBytecode(t *testing.T) {
	dir := privateBase(t)
	planted := filepath.Join(dir, "__pycache__")
	if err := os.MkdirAll(planted, 0o777); err != nil {
		t.Fatal(err)
	}
	pyc := filepath.Join(planted, "mod-0000000000000000.cpython-312.pyc")
	if err := os.WriteFile(pyc, []byte("planted"), 0o666); err != nil {
		t.Fatal(err)
	}
	path, err := writeCached(dir, "mod", ".py", []byte("print('from the source')\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := existingPrivate(planted, false); err != nil {
		t.Fatalf("__pycache__ after writeCached: %v", err)
	}
	for _, i := range All() {
		t.Run(i.VersionString(), func(t *testing.T) {
			cmd := exec.Command(i.Executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); __import__(sys.argv[2])",
				dir, strings.TrimSuffix(filepath.Base(path), ".py"))
			cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=")
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != "from the source\n" {
				t.Fatalf("importing the cached source: %v: %s", err, out)
			}
			if info, err := os.Lstat(planted); err != nil || !info.Mode().IsRegular() || info.Size() != 0 {
				t.Errorf("__pycache__ after the import: %v, %v", info, err)
			}
		})
	}
}
