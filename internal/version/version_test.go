package version

import (
	"regexp"
	"runtime/debug"
	"testing"
)

// pep440 is the canonical form of a PEP 440 version with an optional local
// label (PEP 440, appendix B, without epochs and pre/post/dev releases).
var pep440 = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*(\+[a-z0-9]+(\.[a-z0-9]+)*)?$`)

func TestFromBuild(t *testing.T) {
	const rev = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
	settings := func(kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build information", nil, Release},
		{"no VCS stamp", settings("GOOS", "linux"), Release},
		{"clean checkout", settings("vcs.revision", rev, "vcs.modified", "false"), Release + "+g1a2b3c4d5e6f"},
		{"changed work tree", settings("vcs.revision", rev, "vcs.modified", "true"), Release + "+g1a2b3c4d5e6f.dirty"},
		{"short revision", settings("vcs.revision", "abcdef1"), Release + "+gabcdef1"},
		{"not a Git hash", settings("vcs.revision", "r1234"), Release},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FromBuild(tc.bi)
			if got != tc.want {
				t.Errorf("FromBuild = %q, want %q", got, tc.want)
			}
			if !pep440.MatchString(got) {
				t.Errorf("%q is not a PEP 440 version", got)
			}
		})
	}
}
