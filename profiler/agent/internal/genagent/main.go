// Command genagent builds pyprof's C agent for every platform pyprof
// carries a prebuilt agent for, and writes the shared objects with their
// BUILDINFO into the prebuilt folder of the current directory. It is what
// `go generate ./profiler/agent` runs; anyone can run it again and compare
// the bytes with the committed ones (a build has no paths or dates in it,
// so the same compiler gives the same bytes).
package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pyprof/pyprof/profiler/agent"
)

func main() {
	if err := generate("prebuilt"); err != nil {
		fmt.Fprintf(os.Stderr, "genagent: %v\n", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	info := &agent.BuildInfo{Sources: agent.SourceHash(), Objects: map[string]string{}, Compilers: map[string]string{}}
	for _, platform := range slices.Sorted(maps.Keys(agent.PrebuiltPlatforms)) {
		cc := agent.PrebuiltPlatforms[platform]
		ident, err := compilerIdentity(cc)
		if err != nil {
			return fmt.Errorf("%s: %w (Debian on amd64: apt-get install gcc gcc-aarch64-linux-gnu)", platform, err)
		}
		so, err := agent.Compile(cc)
		if err != nil {
			return fmt.Errorf("%s: %w", platform, err)
		}
		if err := os.WriteFile(filepath.Join(dir, platform+".so"), so, 0o644); err != nil {
			return err
		}
		info.Objects[platform] = agent.ObjectHash(so)
		info.Compilers[platform] = cc + ": " + ident
		fmt.Printf("%s: %d bytes, %s\n", platform, len(so), ident)
	}
	return os.WriteFile(filepath.Join(dir, "BUILDINFO"), info.Format(), 0o644)
}

// compilerIdentity is the first line of cc --version.
func compilerIdentity(cc string) (string, error) {
	out, err := exec.Command(cc, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("no %s: %w", cc, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}
