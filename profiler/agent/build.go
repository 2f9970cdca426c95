package agent

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed c/agent.c c/wire.h
var cSources embed.FS

//go:embed py/bootstrap.py
var bootstrapSource []byte

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
	Null      bool
	Path      string // the extension module or twin.py
	Bootstrap string
	// Built is how long compiling took, zero when the cache had it.
	Built time.Duration
	// Warning says why Auto fell back to the twin; empty otherwise.
	Warning string
}

// ErrBuild wraps a failure to compile the C agent.
var ErrBuild = errors.New("cannot build the C agent")

// Prepare makes the agent of kind k for interpreter i available under the
// user's cache folder.
func Prepare(i *Interpreter, k Kind) (*Prepared, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	boot, err := writeCached(dir, "bootstrap", ".py", bootstrapSource)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Kind: k, Null: k == Null, Bootstrap: boot}
	if k == Python {
		p.Path, err = writeCached(dir, "twin", ".py", twinSource)
		return p, err
	}
	p.Kind = C
	p.Path, p.Built, err = buildC(dir, i)
	if err == nil {
		return p, nil
	}
	if k == C {
		return nil, err
	}
	p.Kind, p.Warning = Python, err.Error()+"; using the slower pure-Python agent"
	p.Path, err = writeCached(dir, "twin", ".py", twinSource)
	return p, err
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

// buildC returns the cached C agent for i, compiling it on first use. The
// cache key covers the sources, the interpreter's facts and the compiler's
// identity; the built file's own hash is checked before every use.
func buildC(dir string, i *Interpreter) (string, time.Duration, error) {
	if i.FreeThreaded {
		return "", 0, fmt.Errorf("%w: %s is a free-threaded build", ErrBuild, i.Path)
	}
	if _, err := os.Stat(filepath.Join(i.Include, "Python.h")); err != nil {
		return "", 0, fmt.Errorf("%w: no Python.h in %q (install the interpreter's development headers)", ErrBuild, i.Include)
	}
	cc := compiler()
	ident, err := exec.Command(cc, "--version").Output()
	if err != nil {
		return "", 0, fmt.Errorf("%w: no C compiler (%s); install gcc or set CC", ErrBuild, cc)
	}
	src, _ := cSources.ReadFile("c/agent.c")
	hdr, _ := cSources.ReadFile("c/wire.h")
	facts := fmt.Sprintf("%s|%v|%s|%s|%v", i.Executable, i.Version, i.Include, i.ExtSuffix, i.FreeThreaded)
	key := hashOf(src, hdr, []byte(facts), []byte(cc), ident)[:20]
	out := filepath.Join(dir, "agent-"+key, "_pyprof_agent"+i.ExtSuffix)
	if verified(out) {
		return out, 0, nil
	}
	start := time.Now()
	if err := compile(cc, i.Include, src, hdr, out); err != nil {
		return "", 0, err
	}
	return out, time.Since(start), nil
}

// verified reports whether the built agent at path is intact: its content
// hash matches the one recorded when it was built.
func verified(path string) bool {
	if privateDir(filepath.Dir(path)) != nil || privateFile(path) != nil || privateFile(path+".sha256") != nil {
		return false
	}
	want, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return false
	}
	got, err := os.ReadFile(path)
	return err == nil && hashOf(got) == strings.TrimSpace(string(want))
}

func compile(cc, include string, src, hdr []byte, out string) error {
	if err := privateDir(filepath.Dir(out)); err != nil {
		return err
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".build-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for name, content := range map[string][]byte{"agent.c": src, "wire.h": hdr} {
		if err := os.WriteFile(filepath.Join(work, name), content, 0o600); err != nil {
			return err
		}
	}
	tmp := filepath.Join(work, "agent.so")
	cmd := exec.Command(cc, "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-I", include, "-o", tmp, filepath.Join(work, "agent.c"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		first, _, _ := strings.Cut(strings.TrimSpace(string(msg)), "\n")
		return fmt.Errorf("%w: %s failed: %s", ErrBuild, cc, first)
	}
	built, err := os.ReadFile(tmp)
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	if err := writeAtomic(out+".sha256", []byte(hashOf(built)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
