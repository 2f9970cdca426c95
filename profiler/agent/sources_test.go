package agent

import (
	"os"
	"slices"
	"testing"
)

// TestEverySourceIsBuiltAndHashed checks that each file of the C agent's
// folder is embedded and covered by SourceHash, the hash BUILDINFO and the
// build cache trust: a file of the agent left out would change the agent
// without changing its hash.
func TestEverySourceIsBuiltAndHashed(t *testing.T) {
	entries, err := os.ReadDir("c")
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	listed := slices.Sorted(slices.Values(sourceFiles))
	if !slices.Equal(onDisk, listed) {
		t.Errorf("c/ holds %v, but the build hashes %v", onDisk, listed)
	}
	for _, name := range onDisk {
		if _, err := cSources.ReadFile("c/" + name); err != nil {
			t.Errorf("c/%s is not embedded: %v", name, err)
		}
	}
}
