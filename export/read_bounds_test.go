package export

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/pyprof/pyprof/callgraph"
)

// lower sets *bound to v for the test.
func lower[T any](t *testing.T, bound *T, v T) {
	t.Helper()
	old := *bound
	*bound = v
	t.Cleanup(func() { *bound = old })
}

// pprofBytes writes p uncompressed, or gzipped.
func pprofBytes(t *testing.T, p *profile.Profile, gzipped bool) []byte {
	t.Helper()
	var b bytes.Buffer
	write := p.WriteUncompressed
	if gzipped {
		write = p.Write
	}
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// oneFrame is a profile of n one-frame samples of the given types, each
// sample holding value for every type.
func oneFrame(n int, value int64, types ...*profile.ValueType) *profile.Profile {
	fn := &profile.Function{ID: 1, Name: "f"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	p := &profile.Profile{SampleType: types, Function: []*profile.Function{fn}, Location: []*profile.Location{loc}}
	for range n {
		values := make([]int64, len(types))
		for i := range values {
			values[i] = value
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc}, Value: values})
	}
	return p
}

var (
	wallType  = &profile.ValueType{Type: "wall", Unit: "nanoseconds"}
	callsType = &profile.ValueType{Type: "calls", Unit: "count"}
)

func TestReadPprofNoSamples(t *testing.T) {
	// What sample mode writes when the sampler read nothing.
	data := pprofBytes(t, oneFrame(0, 0, callsType, wallType), true)
	p, err := ReadPprof(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("ReadPprof = %v, want a profile of nothing", err)
	}
	if len(p.Threads) != 0 || p.Total(callgraph.Wall) != 0 || !p.Has(callgraph.Calls) || p.Default != callgraph.Wall {
		t.Errorf("threads %d, wall %d, values %v default %v; want no thread, calls and wall",
			len(p.Threads), p.Total(callgraph.Wall), p.Values, p.Default)
	}
}

func TestReadPprofBounds(t *testing.T) {
	var zeros bytes.Buffer
	gz := gzip.NewWriter(&zeros)
	gz.Write(make([]byte, 4<<20))
	gz.Close()
	var twice bytes.Buffer
	gz = gzip.NewWriter(&twice)
	gz.Write(pprofBytes(t, oneFrame(1, 1, wallType), true))
	gz.Close()
	tests := []struct {
		name    string
		data    []byte
		records int
		want    string // a regexp
	}{
		{"gzip bomb", zeros.Bytes(), 0, "profile too large: the gunzipped pprof holds more than 1 MiB, more than pyprof reads"},
		{"gzip inside gzip", twice.Bytes(), 0, "decompressing profile: gzip inside gzip is not a pprof"},
		{"too many numbers", pprofBytes(t, oneFrame(10, 1, wallType, callsType), false), 0,
			`profile too large: the pprof's samples and locations hold [0-9]+ numbers, more than the 50 pyprof reads`},
		{"too many samples", pprofBytes(t, oneFrame(2000, 1, wallType), true), 1000,
			`profile too large: the pprof holds 20[0-9][0-9] records \(samples, locations, functions, strings\), more than the 1000 pyprof reads`},
		{"values that add up past an int64", pprofBytes(t, oneFrame(2, math.MaxInt64/2+1, wallType), false), 0,
			"wall values add up past 9223372036854775807, which pyprof cannot count"},
		{"seconds past nanoseconds", pprofBytes(t, oneFrame(1, math.MaxInt64/1000, &profile.ValueType{Type: "cpu", Unit: "seconds"}), false), 0,
			"cpu value 9223372036854775 seconds overflows an int64 in nanoseconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lower(t, &maxProfileBytes, 1<<20)
			if tt.records > 0 {
				lower(t, &maxPprofRecords, tt.records)
			}
			lower(t, &maxPprofNumbers, 50)
			_, err := ReadPprof(bytes.NewReader(tt.data))
			if err == nil || !regexp.MustCompile("^"+tt.want+"$").MatchString(err.Error()) {
				t.Errorf("ReadPprof = %v, want it to match %q", err, tt.want)
			}
		})
	}
}

func TestReadFoldedBounds(t *testing.T) {
	max := strconv.FormatInt(math.MaxInt64, 10)
	var distinct strings.Builder
	for i := range 20 {
		distinct.WriteString("f" + strconv.Itoa(i) + " 1\n")
	}
	tests := []struct {
		name, data string
		nodes      int
		want       string
	}{
		{"counts that add up past an int64", "a " + max + "\nb;c 1\n", 0,
			"line 2: samples values add up past 9223372036854775807, which pyprof cannot count"},
		{"a count past an int64", "a 99999999999999999999\n", 0, "line 1: count 99999999999999999999 is past what an int64 holds"},
		{"too many calling contexts", distinct.String(), 10, "line 11: profile too large: more than 10 calling contexts, more than pyprof reads"},
		{"too many bytes", strings.Repeat("abc;", 100) + "x 1\n", 0, "profile too large: the folded file holds more than 100 bytes, more than pyprof reads"},
		{"too deep a stack", "a;b 1\n" + strings.Repeat("f;", 12) + "g 1\n", 0, "line 2: profile too large: a stack of 13 frames, deeper than the 12 pyprof reads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.nodes > 0 {
				lower(t, &maxTreeNodes, tt.nodes)
			}
			lower(t, &maxStackDepth, 12)
			if tt.name == "too many bytes" {
				lower(t, &maxProfileBytes, 100)
			}
			_, err := ReadFolded(strings.NewReader(tt.data), callgraph.Samples)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ReadFolded = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReadFileBounds(t *testing.T) {
	lower(t, &maxProfileBytes, 100)
	path := filepath.Join(t.TempDir(), "big.folded")
	if err := os.WriteFile(path, []byte(strings.Repeat("a;", 100)+"b 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "reading "+path+": profile too large: the file holds") {
		t.Errorf("ReadFile = %v, want ErrTooLarge naming the file", err)
	}
}

func TestReadPprofSourceTypes(t *testing.T) {
	heap := []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"}}
	tests := []struct {
		name  string
		types []*profile.ValueType
		want  [callgraph.NumValues]string
	}{
		{"pyprof's own", []*profile.ValueType{callsType, wallType}, [callgraph.NumValues]string{}},
		{"Go CPU profile", []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}}, [callgraph.NumValues]string{}},
		{"heap profile", heap, [callgraph.NumValues]string{callgraph.Samples: "alloc_objects/count"}},
		{"samples in bytes", []*profile.ValueType{{Type: "samples", Unit: "bytes"}}, [callgraph.NumValues]string{callgraph.Samples: "samples/bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ReadPprof(bytes.NewReader(pprofBytes(t, oneFrame(1, 1, tt.types...), true)))
			if err != nil {
				t.Fatal(err)
			}
			if p.SourceTypes != tt.want {
				t.Errorf("SourceTypes %q, want %q", p.SourceTypes, tt.want)
			}
		})
	}
}

// TestReadPprofDeepStack: a sample deeper than the stacks pyprof reads is
// refused, like a folded line of as many frames.
func TestReadPprofDeepStack(t *testing.T) {
	lower(t, &maxStackDepth, 12)
	fn := &profile.Function{ID: 1, Name: "f"}
	p := &profile.Profile{SampleType: []*profile.ValueType{wallType}, Function: []*profile.Function{fn}}
	var stack []*profile.Location
	for i := range 13 {
		loc := &profile.Location{ID: uint64(i + 1), Line: []profile.Line{{Function: fn, Line: 1}}}
		p.Location = append(p.Location, loc)
		stack = append(stack, loc)
	}
	p.Sample = []*profile.Sample{{Location: stack, Value: []int64{1}}}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	_, err := ReadPprof(&buf)
	if want := "profile too large: a stack of 13 frames, deeper than the 12 pyprof reads"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ReadPprof = %v, want %q", err, want)
	}
}
