package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"time"
)

//go:generate go run ./internal/genagent

// The C agent, built by `go generate ./profiler/agent` for the platforms
// below and committed, so that no compiler is needed where pyprof runs:
// one shared object serves every CPython from 3.12 on. BUILDINFO records
// the hash of the sources they were built from (a test fails when the
// sources change without regenerating) and the compiler that built each.
//
//go:embed prebuilt/BUILDINFO prebuilt/*.so
var prebuiltFS embed.FS

// PrebuiltPlatforms are the GOOS-GOARCH pairs pyprof carries an agent for,
// and the cross compiler go generate uses for each (on any host; the host's
// own platform is built with CC or cc).
var PrebuiltPlatforms = map[string]string{
	"linux-amd64": "x86_64-linux-gnu-gcc",
	"linux-arm64": "aarch64-linux-gnu-gcc",
}

// BuildInfo is what BUILDINFO says.
type BuildInfo struct {
	Sources   string            // SourceHash of the sources built
	Objects   map[string]string // platform -> sha256 of its shared object
	Compilers map[string]string // platform -> the compiler's --version line
}

// ReadBuildInfo parses the embedded BUILDINFO.
func ReadBuildInfo() (*BuildInfo, error) {
	data, err := prebuiltFS.ReadFile("prebuilt/BUILDINFO")
	if err != nil {
		return nil, err
	}
	return ParseBuildInfo(data)
}

// ParseBuildInfo reads lines "sources HASH" and "PLATFORM HASH COMPILER".
func ParseBuildInfo(data []byte) (*BuildInfo, error) {
	b := &BuildInfo{Objects: map[string]string{}, Compilers: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		switch {
		case len(f) == 2 && f[0] == "sources":
			b.Sources = f[1]
		case len(f) == 3:
			b.Objects[f[0]], b.Compilers[f[0]] = f[1], f[2]
		default:
			return nil, fmt.Errorf("BUILDINFO: bad line %q", line)
		}
	}
	return b, nil
}

// Format writes BUILDINFO back.
func (b *BuildInfo) Format() []byte {
	var out bytes.Buffer
	out.WriteString("# Written by `go generate ./profiler/agent`: the C agent's sources and what each platform's build is.\n")
	fmt.Fprintf(&out, "sources %s\n", b.Sources)
	for _, p := range slices.Sorted(maps.Keys(b.Objects)) {
		fmt.Fprintf(&out, "%s %s %s\n", p, b.Objects[p], b.Compilers[p])
	}
	return out.Bytes()
}

// Prebuilt returns the committed agent for goos/goarch, if there is one and
// it was built from the sources this pyprof carries (a developer who edits
// them gets a compiled agent until go generate runs again).
func Prebuilt(goos, goarch string) ([]byte, bool) {
	info, err := ReadBuildInfo()
	if err != nil || info.Sources != SourceHash() {
		return nil, false
	}
	platform := goos + "-" + goarch
	so, err := prebuiltFS.ReadFile("prebuilt/" + platform + ".so")
	if err != nil || ObjectHash(so) != info.Objects[platform] {
		return nil, false
	}
	return so, true
}

// ObjectHash is a shared object's sha256, as sha256sum prints it, so that
// anyone can check a committed agent against BUILDINFO.
func ObjectHash(so []byte) string {
	sum := sha256.Sum256(so)
	return hex.EncodeToString(sum[:])
}

// AgentTested reports whether the C agent is tested on i's release. On
// others it is loaded once first, to see whether its load-time checks pass
// (recording cannot switch agents once the program runs).
func (i *Interpreter) AgentTested() bool {
	return i.Version[0] == 3 && i.Version[1] >= 12 && i.Version[1] <= 14
}

// loadCheck imports the agent as the bootstrap will, in isolated mode.
const loadCheck = `import sys, importlib.machinery as m, importlib.util as u
l = m.ExtensionFileLoader("_pyprof_agent", sys.argv[1])
u.module_from_spec(u.spec_from_file_location("_pyprof_agent", sys.argv[1], loader=l))`

// checkLoads runs i once to see whether the agent at path loads in it.
func checkLoads(i *Interpreter, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, i.RunPath(), "-I", "-S", "-c", loadCheck, path)
	cmd.Env = i.Environ()
	boundWait(cmd)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return fmt.Errorf("%w on Python %s: %s", ErrUnsupported, i.VersionString(), lines[len(lines)-1])
}
