package report

import (
	"bytes"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
)

func TestWriteNothingRecorded(t *testing.T) {
	// What sample mode writes when the sampler read nothing: sample
	// types, no thread.
	p := &callgraph.Profile{Values: []callgraph.Value{callgraph.Samples, callgraph.Wall}, Default: callgraph.Wall}
	var b bytes.Buffer
	if err := Write(&b, p, Options{Aligned: true}); err != nil {
		t.Fatal(err)
	}
	if want := "Showing 0 of 0 functions by flat; wall total 0ns (idle apart)\n\nno wall was recorded\n"; b.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}
}
