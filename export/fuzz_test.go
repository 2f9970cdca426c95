package export

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/pyprof/pyprof/callgraph"
)

// FuzzReadPprof checks that no input makes ReadPprof panic, and that what it
// reads can be written again.
func FuzzReadPprof(f *testing.F) {
	for _, seed := range pprofSeeds(f) {
		f.Add(seed.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPprof(bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := WritePprof(&bytes.Buffer{}, p, Options{MaxDepth: 50}); err != nil {
			t.Errorf("writing what ReadPprof read: %v", err)
		}
	})
}

// FuzzReadFolded checks that no input makes ReadFolded panic, and that what
// it reads is written with the same total.
func FuzzReadFolded(f *testing.F) {
	for _, seed := range foldedSeeds() {
		f.Add(seed.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadFolded(bytes.NewReader(data), callgraph.Samples)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteFolded(&buf, p, callgraph.Samples, Options{MaxDepth: -1}); err != nil {
			t.Fatalf("writing what ReadFolded read: %v", err)
		}
		back, err := ReadFolded(&buf, callgraph.Samples)
		if err != nil && p.Total(callgraph.Samples) != 0 {
			t.Fatalf("reading what WriteFolded wrote: %v\n%s", err, buf.Bytes())
		}
		if err == nil && back.Total(callgraph.Samples) != p.Total(callgraph.Samples) {
			t.Errorf("total %d after writing, %d before", back.Total(callgraph.Samples), p.Total(callgraph.Samples))
		}
	})
}

type seed struct {
	name string
	data []byte
}

func pprofSeeds(t testing.TB) []seed {
	var seeds []seed
	for _, fx := range fixtures {
		var buf bytes.Buffer
		if err := WritePprof(&buf, fx.profile(), fx.opts); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, seed{fx.name, buf.Bytes()})
	}
	// Another tool's profile, not even gzipped.
	var raw bytes.Buffer
	foreign := foreignPprof(&profile.ValueType{Type: "samples", Unit: "count"}, &profile.ValueType{Type: "cpu", Unit: "nanoseconds"})
	if err := foreign.WriteUncompressed(&raw); err != nil {
		t.Fatal(err)
	}
	return append(seeds, seed{"foreign", raw.Bytes()})
}

func foldedSeeds() []seed {
	return []seed{
		{"pyprof", []byte("main;a 2\nmain;a;b 3\n[lost events] 1\n")},
		{"pyspy", []byte("<module> (app.py:10);handle (app.py:31) 7\r\n\r\nidle 1\n")},
		{"malformed", []byte("a;b\n")},
	}
}

// TestWriteFuzzSeeds writes the committed seed corpora with -update, in Go's
// corpus file format, so that `go test` runs them without -fuzz.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	writeSeeds(t, "FuzzReadPprof", pprofSeeds(t))
	writeSeeds(t, "FuzzReadFolded", foldedSeeds())
}

func writeSeeds(t *testing.T, fuzzName string, seeds []seed) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", fuzzName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s.data)))
		if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
