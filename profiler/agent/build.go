package agent

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// cSources is the C agent: agent.c, which includes the files of its roles
// (one translation unit), and layout.c, with their headers, built with no
// Python.h (pyabi.h declares what they call).
//
//go:embed c/*.c c/*.h
var cSources embed.FS

// sourceFiles are cSources in the order they are hashed; compiledFiles are
// the ones given to the compiler, the rest being included by them.
var (
	sourceFiles = []string{
		"agent.c", "ring.c", "payload.c", "slots.c", "hot.c", "codes.c", "frames.c", "callbacks.c", "children.c", "module.c",
		"layout.c", "layout.h", "pyabi.h", "wire.h",
	}
	compiledFiles = []string{"agent.c", "layout.c"}
)

//go:embed py/bootstrap.py
var bootstrapSource []byte

//go:embed py/start.py
var startSource []byte

//go:embed py/twin.py
var twinSource []byte

// Kind chooses the agent.
type Kind string

const (
	// Auto uses the C agent, or the Python twin with a warning when the C
	// agent cannot be built here.
	Auto Kind = "auto"
	// C insists on the C agent.
	C Kind = "c"
	// Python uses the pure-Python twin.
	Python Kind = "python"
	// Null registers the callbacks and records nothing: the floor of what
	// sys.monitoring costs, for the overhead benchmark.
	Null Kind = "null"
)

// ParseKind checks a --agent value.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Auto, C, Python, Null:
		return k, nil
	}
	return "", fmt.Errorf("unknown agent %q: use auto, c, python or null", s)
}

// Prepared is an agent ready to load.
type Prepared struct {
	// Kind is C or Python: what was really prepared.
	Kind Kind
	// Null tells the bootstrap to register the null callbacks.
	Null bool
	Path string // the extension module or twin.py
	// Bootstrap is the script the interpreter runs in place of the
	// program (start.py), and BootstrapCode the bootstrap it runs, whose
	// frames are pyprof's too.
	Bootstrap, BootstrapCode string
	// Built is how long compiling took, zero when the cache had it.
	Built time.Duration
	// Warning says why Auto fell back to the twin; empty otherwise.
	Warning string
}

// ErrBuild wraps a failure to compile the C agent.
var ErrBuild = errors.New("cannot build the C agent")

// ErrUnsupported wraps the reasons the C agent cannot serve an interpreter.
var ErrUnsupported = errors.New("the C agent cannot run")

// Prepare makes the agent of kind k for interpreter i available under the
// user's cache folder.
func Prepare(i *Interpreter, k Kind) (*Prepared, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	start, code, err := writeBootstrap(dir)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Kind: k, Null: k == Null, Bootstrap: start, BootstrapCode: code}
	if k == Python {
		p.Path, err = writeTwin(dir)
		return p, err
	}
	p.Kind = C
	p.Path, p.Built, err = cAgent(dir, i)
	if err == nil {
		return p, nil
	}
	if k == C {
		return nil, err
	}
	p.Kind, p.Warning = Python, err.Error()+"; using the slower pure-Python agent"
	p.Path, err = writeTwin(dir)
	return p, err
}

// The bootstrap and the twin are modules the interpreter loads on every
// start, and parsing and compiling them took longer than the rest of its
// start under pyprof. They live in a folder of their own, boot, whose
// __pycache__ pyprof makes private, so that the interpreter caches their
// bytecode there and reads it back; the script it runs, start.py, only
// loads the bootstrap (see start.py).

// writeBootstrap writes the bootstrap into dir's boot folder and start.py,
// which runs it, into dir, and returns their paths.
func writeBootstrap(dir string) (start, code string, err error) {
	boot, err := bootDir(dir)
	if err != nil {
		return "", "", err
	}
	code, err = writeCachedModule(boot, "bootstrap", bootstrapSource)
	if err != nil {
		return "", "", err
	}
	script := bytes.Replace(startSource, []byte("@BOOTSTRAP@"), []byte(filepath.Base(code)), 1)
	start, err = writeCached(dir, "start", ".py", script)
	return start, code, err
}

// writeTwin writes the twin into dir's boot folder.
func writeTwin(dir string) (string, error) {
	boot, err := bootDir(dir)
	if err != nil {
		return "", err
	}
	return writeCachedModule(boot, "twin", twinSource)
}

// bootDir makes dir/boot and its __pycache__, both private: the bytecode
// in there is run instead of the sources beside it, so no one else may
// write it. A __pycache__ that is not private (the interpreter made it
// anew under an open umask) is replaced: boot itself is private, so
// nothing in it came from anyone else.
func bootDir(dir string) (string, error) {
	boot := filepath.Join(dir, "boot")
	if err := privateDir(boot); err != nil {
		return "", err
	}
	cache := filepath.Join(boot, "__pycache__")
	if err := privateDir(cache); err != nil {
		if err := os.RemoveAll(cache); err != nil {
			return "", fmt.Errorf("%w: removing %s: %v", ErrCache, cache, err)
		}
		return boot, privateDir(cache)
	}
	return boot, nil
}

// cAgent returns the C agent's path for i: the prebuilt one where pyprof
// carries one for this platform, else one compiled on first use; either
// way only after checking that i can load it.
func cAgent(dir string, i *Interpreter) (string, time.Duration, error) {
	if i.FreeThreaded {
		return "", 0, fmt.Errorf("%w on %s, a free-threaded build", ErrUnsupported, i.Path)
	}
	var path string
	var built time.Duration
	var err error
	if so, ok := Prebuilt(runtime.GOOS, runtime.GOARCH); ok {
		path, err = writeCached(dir, "agent", ".so", so)
	} else {
		path, built, err = buildC(dir)
	}
	if err != nil {
		return "", 0, err
	}
	if !i.AgentTested() {
		if err := checkLoads(i, path); err != nil {
			return "", 0, err
		}
	}
	return path, built, nil
}

func hashOf(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func compiler() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "cc"
}

// buildC returns the C agent compiled here, on first use, for platforms
// pyprof carries no prebuilt agent for. The cache key covers the sources
// and the compiler's identity; the built file's own hash is checked before
// every use.
func buildC(dir string) (string, time.Duration, error) {
	cc := compiler()
	ident, err := exec.Command(cc, "--version").Output()
	if err != nil {
		return "", 0, fmt.Errorf("%w: no C compiler (%s); install gcc or set CC", ErrBuild, cc)
	}
	key := hashOf([]byte(SourceHash()), []byte(cc), ident)[:20]
	out := filepath.Join(dir, "agent-"+key, "_pyprof_agent.so")
	if verified(out) {
		return out, 0, nil
	}
	start := time.Now()
	so, err := Compile(cc)
	if err != nil {
		return "", 0, err
	}
	if err := store(out, so); err != nil {
		return "", 0, err
	}
	return out, time.Since(start), nil
}

// verified reports whether the built agent at path is intact: its content
// hash matches the one recorded when it was built, and no one else could
// have written either.
func verified(path string) bool {
	if existingPrivate(filepath.Dir(path), true) != nil || privateFile(path) != nil || privateFile(path+".sha256") != nil {
		return false
	}
	want, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return false
	}
	got, err := os.ReadFile(path)
	return err == nil && hashOf(got) == strings.TrimSpace(string(want))
}

// store puts a built agent and its hash in a private folder of the cache.
func store(out string, so []byte) error {
	if err := privateDir(filepath.Dir(out)); err != nil {
		return err
	}
	if err := writeAtomic(out+".sha256", []byte(hashOf(so)+"\n"), 0o600); err != nil {
		return err
	}
	return writeAtomic(out, so, 0o700)
}

// CompileFlags build the agent: position-independent, every symbol hidden
// but the module's init function, stripped. No -g and no paths: a build is
// the same bytes wherever it runs with the same compiler.
var CompileFlags = []string{"-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-s"}

// Compile builds the C agent with the compiler cc (a cross compiler makes
// it for another platform), adding extra to CompileFlags, and returns the
// shared object. It works in a fresh private temporary folder, removed
// before it returns.
func Compile(cc string, extra ...string) ([]byte, error) {
	work, err := os.MkdirTemp("", "pyprof-agent-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	for _, name := range sourceFiles {
		src, _ := cSources.ReadFile("c/" + name)
		if err := os.WriteFile(filepath.Join(work, name), src, 0o600); err != nil {
			return nil, err
		}
	}
	args := slices.Concat(CompileFlags, extra, []string{"-o", "agent.so"}, compiledFiles)
	cmd := exec.Command(cc, args...)
	cmd.Dir = work
	if msg, err := cmd.CombinedOutput(); err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(string(msg)), "\n")
		return nil, fmt.Errorf("%w: %s failed: %s", ErrBuild, cc, first)
	}
	return os.ReadFile(filepath.Join(work, "agent.so"))
}

// SourceHash identifies the C agent's sources.
func SourceHash() string {
	var parts [][]byte
	for _, name := range sourceFiles {
		src, _ := cSources.ReadFile("c/" + name)
		parts = append(parts, []byte(name), src)
	}
	return hashOf(parts...)
}
