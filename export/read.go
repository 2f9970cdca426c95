package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/pyprof/pyprof/callgraph"
)

// ErrEmpty reports a profile without samples or stacks; the CLI turns it into
// its own exit status, since nothing went wrong but there is nothing to show.
var ErrEmpty = errors.New("profile has no samples")

// A Reader reads one format into call trees.
type Reader func(io.Reader) (*callgraph.Profile, error)

var (
	readersMu sync.RWMutex
	readers   = map[Format]Reader{
		Pprof: ReadPprof,
		// Folded files carry no unit; most tools that write them count
		// samples.
		Folded: func(r io.Reader) (*callgraph.Profile, error) { return ReadFolded(r, callgraph.Samples) },
	}
)

// RegisterReader makes ReadFile read format f with read, replacing any
// reader of f. Packages of other formats call it from init, so that export
// need not import them.
func RegisterReader(f Format, read func(io.Reader) (*callgraph.Profile, error)) {
	readersMu.Lock()
	defer readersMu.Unlock()
	readers[f] = read
}

func readerFor(f Format) Reader {
	readersMu.RLock()
	defer readersMu.RUnlock()
	return readers[f]
}

// readable lists the formats ReadFile can read, for error messages.
func readable() string {
	var names []string
	for _, f := range formats {
		if readerFor(f) != nil {
			names = append(names, string(f))
		}
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ReadFile reads the profile in path, telling its format from its content
// with Sniff. Folded counts are read as Samples. Errors say which file, and
// an empty profile is ErrEmpty.
func ReadFile(path string) (*callgraph.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // already "open path: ..."
	}
	f, err := Sniff(data)
	if errors.Is(err, ErrEmpty) {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: not a %s profile: %w", path, readable(), err)
	}
	read := readerFor(f)
	if read == nil {
		return nil, fmt.Errorf("reading %s: reading %s profiles is not supported", path, f)
	}
	p, err := read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return p, nil
}
