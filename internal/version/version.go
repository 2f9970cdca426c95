// Package version says which pyprof this is, in one place: `pyprof
// version`, the comment every profile carries and the Python wheel's
// metadata all read it.
//
// A version is Release, a PEP 440 release number (a wheel's version must
// be one), followed for a build from a Git checkout by a PEP 440 local
// label naming the commit, "+g" and its first 12 hex digits, and ".dirty"
// when the work tree had uncommitted changes: 0.1.0+g1a2b3c4d5e6f.dirty.
// pip installs such wheels; PyPI refuses local labels, so a published
// wheel is built with -buildvcs=false (or from an export without .git) and
// carries Release alone.
package version

import (
	"regexp"
	"runtime/debug"
)

// Release is the version of the release being prepared.
const Release = "0.1.0"

// revisionDigits is how much of the commit hash the local label keeps.
const revisionDigits = 12

// FromBuild returns the version of a binary from its build information:
// Release with the VCS revision and state Go stamped into the build, if
// any. A nil bi (no build information) gives Release.
func FromBuild(bi *debug.BuildInfo) string {
	if bi == nil {
		return Release
	}
	var revision string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if !hexDigits.MatchString(revision) {
		return Release
	}
	local := "+g" + revision[:min(len(revision), revisionDigits)]
	if modified {
		local += ".dirty"
	}
	return Release + local
}

var hexDigits = regexp.MustCompile(`^[0-9a-f]{7,}$`)

// Current is the running binary's version.
func Current() string {
	bi, _ := debug.ReadBuildInfo()
	return FromBuild(bi)
}
