package export

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/rogpeppe/go-internal/diff"
)

func writeFolded(t *testing.T, p *callgraph.Profile, v callgraph.Value, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFolded(&buf, p, v, opts); err != nil {
		t.Fatalf("WriteFolded: %v", err)
	}
	return buf.Bytes()
}

func TestWriteFoldedGolden(t *testing.T) {
	for _, fx := range fixtures {
		p := fx.profile()
		for _, v := range p.Values {
			name := fx.name + "." + v.Info().Type
			t.Run(name, func(t *testing.T) {
				checkGolden(t, goldenName(name, fx.opts, "folded"), writeFolded(t, p, v, fx.opts))
			})
		}
	}
}

func TestWriteFoldedRejectsUnmeasuredValue(t *testing.T) {
	err := WriteFolded(&bytes.Buffer{}, basicProfile(), callgraph.CPU, Options{})
	if err == nil || err.Error() != "writing folded stacks: profile has no cpu values" {
		t.Errorf("WriteFolded = %v", err)
	}
}

func TestFoldedRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			p := fx.profile()
			first := writeFolded(t, p, p.Default, fx.opts)
			back, err := ReadFolded(bytes.NewReader(first), p.Default)
			if err != nil {
				t.Fatalf("ReadFolded: %v", err)
			}
			second := writeFolded(t, back, p.Default, fx.opts)
			if !bytes.Equal(first, second) {
				t.Errorf("write, read, write changed the stacks:\n%s", diff.Diff("first", first, "second", second))
			}
		})
	}
}

func TestFoldedTotalMatchesPprof(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			p := fx.profile()
			folded := foldedTotal(t, writeFolded(t, p, p.Default, fx.opts))
			pp := parseBack(t, writePprof(t, p, fx.opts))
			if got := pprofTotal(pp, p.Default.Info().Type); folded != got {
				t.Errorf("folded total %d, pprof total %d", folded, got)
			}
		})
	}
}

func foldedTotal(t *testing.T, data []byte) int64 {
	t.Helper()
	var sum int64
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		n, err := strconv.ParseInt(line[strings.LastIndexByte(line, ' ')+1:], 10, 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		sum += n
	}
	return sum
}

func TestReadFolded(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string // the stacks written back
	}{
		{
			name:  "flamegraph.pl",
			input: "main;a;b 3\nmain;a 2\nmain;c 1\n",
			want:  "main;a 2\nmain;a;b 3\nmain;c 1\n",
		},
		{
			name:  "duplicates merge, blank lines and CRLF",
			input: "main;a 2\r\n\r\n   \nmain;a 3\r\nmain 1",
			want:  "main 1\nmain;a 5\n",
		},
		{
			name:  "py-spy frames with spaces",
			input: "<module> (app.py:10);handle (app.py:31) 7\n",
			want:  "<module> (app.py:10);handle (app.py:31) 7\n",
		},
		{
			name:  "austin frames, tab and extra spaces before the count",
			input: "P1;T2;app.py:main:3;app.py:f:9  \t4\n",
			want:  "P1;T2;app.py:main:3;app.py:f:9 4\n",
		},
		{
			name:  "zero counts are kept out",
			input: "a 0\na;b 1\n",
			want:  "a;b 1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ReadFolded(strings.NewReader(tt.input), callgraph.Samples)
			if err != nil {
				t.Fatalf("ReadFolded: %v", err)
			}
			got := writeFolded(t, p, callgraph.Samples, Options{})
			if string(got) != tt.want {
				t.Errorf("read back as:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestReadFoldedKinds(t *testing.T) {
	p, err := ReadFolded(strings.NewReader("[outer frames cut, 9 kept];f 1\n"), callgraph.Wall)
	if err != nil {
		t.Fatal(err)
	}
	if p.Funcs[0].Kind != callgraph.KindMarker || p.Funcs[1].Kind != callgraph.KindPython {
		t.Errorf("kinds %v %v, want marker python", p.Funcs[0].Kind, p.Funcs[1].Kind)
	}
	if len(p.Threads) != 1 || p.Threads[0].Name != "all" || p.Default != callgraph.Wall || p.Total(callgraph.Wall) != 1 {
		t.Errorf("profile %+v, want one thread all with wall 1", p)
	}
}

func TestReadFoldedErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"no count", "a;b 1\na;b\n", `line 2: no count after the stack in "a;b"`},
		{"count not a number", "a;b 1\n\na;b x12\n", `line 3: count "x12" is not a whole number`},
		{"negative count", "a -1\n", `line 1: count "-1" is not a whole number`},
		{"float count", "a 1.5\n", `line 1: count "1.5" is not a whole number`},
		{"no stack", "  5\n", `line 1: no stack before the count 5`},
		{"empty frame", "a;;b 10\n", `line 1: a frame with no name (two ';' in a row, or one at an end of the stack)`},
		{"empty first frame", ";x 3\n", `line 1: a frame with no name (two ';' in a row, or one at an end of the stack)`},
		{"long line is cut", strings.Repeat("x", 100) + "\n", `line 1: no count after the stack in "` + strings.Repeat("x", 60) + `..."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFolded(strings.NewReader(tt.input), callgraph.Samples)
			if err == nil || err.Error() != tt.want {
				t.Errorf("ReadFolded = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReadFoldedEmpty(t *testing.T) {
	for _, input := range []string{"", "\n\n", " \r\n"} {
		if _, err := ReadFolded(strings.NewReader(input), callgraph.Samples); !errors.Is(err, ErrEmpty) {
			t.Errorf("ReadFolded(%q) = %v, want ErrEmpty", input, err)
		}
	}
}

// TestFoldedNames: a name keeps its frame and its line whatever it holds,
// and prints no control character (a terminal's escape sequence, NUL).
func TestFoldedNames(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"pkg.f", "pkg.f"},
		{"a;b", "a:b"},
		{"line\nbreak\r", "line break"},
		{"tab\there\t", "tab here"},
		{"esc\x1b[2Jnul\x00del\x7fc1\u009b", "esc?[2Jnul?del?c1?"},
		{"caf\u00e9 \U0001F40D", "caf\u00e9 \U0001F40D"},
		{"  \t", "[unknown]"},
	} {
		if got := foldedName(tt.name); got != tt.want {
			t.Errorf("foldedName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
