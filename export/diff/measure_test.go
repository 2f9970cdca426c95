package diff

import (
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// readAs marks p's samples as read from another tool's sample type, as the
// pprof reader does for a heap profile.
func readAs(p *callgraph.Profile, source string) *callgraph.Profile {
	p.SourceTypes[callgraph.Samples] = source
	return p
}

func samplesOf(t *testing.T, n int64) *callgraph.Profile {
	t.Helper()
	return exporttest.NewFixture(callgraph.Samples).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Add(t, "MainThread", "app.main@2", n).Profile
}

func TestCompareUnlikeMeasures(t *testing.T) {
	tests := []struct {
		name      string
		base, new *callgraph.Profile
		want      string
	}{
		{"CPU samples against heap allocations", samplesOf(t, 10), readAs(samplesOf(t, 4096), "alloc_space/bytes"),
			"base measured samples/count, new alloc_space/bytes: compare profiles of the same kind"},
		{"two kinds of heap profile", readAs(samplesOf(t, 3), "alloc_objects/count"), readAs(samplesOf(t, 4096), "alloc_space/bytes"),
			"base measured alloc_objects/count, new alloc_space/bytes: compare profiles of the same kind"},
		{"wall time against heap allocations", exporttest.NewFixture(callgraph.Wall).Profile, readAs(samplesOf(t, 4096), "alloc_space/bytes"),
			"base measured wall/nanoseconds, new alloc_space/bytes: compare profiles of the same kind"},
		{"two heap profiles", readAs(samplesOf(t, 3), "alloc_space/bytes"), readAs(samplesOf(t, 4096), "alloc_space/bytes"), ""},
		{"two CPU profiles", samplesOf(t, 3), samplesOf(t, 5), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compare(tt.base, tt.new, callgraph.Samples)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || err.Error() != tt.want) {
				t.Errorf("Compare = %v, want %q", err, tt.want)
			}
		})
	}
}
