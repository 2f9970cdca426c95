package report

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/internal/exporttest"
)

// TestWriteTreeGolden pins the tree's layout; each golden is named after
// the options that made it. The goldens show what the folding keeps: each
// folded line sums the contexts it stands for (tree-wall: fib's 16.0ms and
// len's 750us under main), and a zero threshold folds only what weighs 0.
func TestWriteTreeGolden(t *testing.T) {
	sampled := exporttest.NewFixture(callgraph.Samples).
		Fn("app.main", "app.py", 1, callgraph.KindPython).
		Fn("app.spin", "app.py", 10, callgraph.KindPython).
		Add(t, "MainThread", "app.main@3;app.spin@12", 30).
		Add(t, "MainThread", "app.main@3;app.spin@14", 10).
		Add(t, "MainThread", "app.main@4", 2).Profile
	tests := []struct {
		golden string
		p      *callgraph.Profile
		opts   TreeOptions
	}{
		{"tree-wall", sample(t), TreeOptions{MinShare: DefaultMinShare}},
		{"tree-calls-min0", sample(t), TreeOptions{Value: val(callgraph.Calls)}},
		{"tree-thread-MainThread-min5", sample(t), TreeOptions{Thread: "MainThread", MinShare: 5}},
		{"tree-samples-lines", sampled, TreeOptions{MinShare: DefaultMinShare}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			checkGolden(t, tt.golden, func(w io.Writer) error { return WriteTree(w, tt.p, tt.opts) })
		})
	}
}

func TestWriteTreeErrors(t *testing.T) {
	var out bytes.Buffer
	if err := WriteTree(&out, sample(t), TreeOptions{Value: val(callgraph.CPU)}); err == nil || !strings.Contains(err.Error(), "no cpu values") {
		t.Errorf("tree of a value the profile lacks: %v", err)
	}
	if err := WriteTree(&out, sample(t), TreeOptions{Thread: "nope"}); err == nil || !strings.Contains(err.Error(), `no thread named "nope"`) {
		t.Errorf("tree of a thread the profile lacks: %v", err)
	}
}

// TestWriteTreeNothingRecorded checks the tree of a value that is all zero
// (a hybrid run whose sampler read nothing) says so instead of folding
// every thread away.
func TestWriteTreeNothingRecorded(t *testing.T) {
	p := exporttest.NewFixture(callgraph.Calls, callgraph.CPU).Add(t, "MainThread", "app.main", 1, 0).Profile
	var out strings.Builder
	if err := WriteTree(&out, p, TreeOptions{Value: val(callgraph.CPU), MinShare: DefaultMinShare}); err != nil {
		t.Fatal(err)
	}
	if want := "\nno cpu was recorded\n"; !strings.HasSuffix(out.String(), want) {
		t.Errorf("tree:\n%s\nwant it to end %q", out.String(), want)
	}
}
