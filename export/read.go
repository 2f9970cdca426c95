package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/pyprof/pyprof/callgraph"
)

// ErrEmpty reports input with nothing to read: an empty or blank file, a
// folded file without a stack, a pprof without sample types. A pprof with
// sample types but no sample is not empty: it is a profile of nothing, as
// sampling writes when it read no stack. The CLI exits with its usage
// status for it, as for any input it cannot read.
var ErrEmpty = errors.New("profile has no samples")

// ErrTooLarge reports a profile past what the readers take in: see
// MaxProfileBytes and MaxTreeNodes.
var ErrTooLarge = errors.New("profile too large")

// MaxProfileBytes bounds what a reader takes in: a profile file, and a pprof
// once gunzipped. A gzip file can hold a thousand times its size, and
// reading it whole before parsing would take the machine's memory; past the
// bound, reading stops and the profile is refused.
const MaxProfileBytes = 256 << 20

// MaxTreeNodes bounds the calling contexts a reader builds, about 150 bytes
// each: folded lines of distinct frames make one per frame.
const MaxTreeNodes = 4_000_000

// MaxStackDepth bounds the frames of one stack a reader takes in. Python
// stacks stop at the recursion limit (1,000 unless a program raises it),
// and pyprof writes at most --max-depth frames of one; a file of deeper
// stacks, millions of frames on one line, would take minutes and
// gigabytes to read.
const MaxStackDepth = 100_000

// The bounds in force; tests lower them.
var (
	maxProfileBytes int64 = MaxProfileBytes
	maxTreeNodes          = MaxTreeNodes
	maxStackDepth         = MaxStackDepth
)

// CheckStackDepth refuses a stack of more than MaxStackDepth frames.
func CheckStackDepth(frames int) error {
	if frames > maxStackDepth {
		return fmt.Errorf("%w: a stack of %d frames, deeper than the %d pyprof reads", ErrTooLarge, frames, maxStackDepth)
	}
	return nil
}

// readAllBounded reads r to its end, refusing more than maxProfileBytes.
func readAllBounded(r io.Reader, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxProfileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxProfileBytes {
		return nil, tooLarge(what)
	}
	return data, nil
}

func tooLarge(what string) error {
	size := strconv.FormatInt(maxProfileBytes, 10) + " bytes"
	if maxProfileBytes%(1<<20) == 0 {
		size = strconv.FormatInt(maxProfileBytes>>20, 10) + " MiB"
	}
	return fmt.Errorf("%w: %s holds more than %s, more than pyprof reads", ErrTooLarge, what, size)
}

// checkNodes refuses a tree grown past maxTreeNodes.
func checkNodes(b *treeBuilder) error {
	if b.children.Len() > maxTreeNodes {
		return fmt.Errorf("%w: more than %d calling contexts, more than pyprof reads", ErrTooLarge, maxTreeNodes)
	}
	return nil
}

// valueSums adds up the magnitudes of every value a reader puts in a tree.
// Every total the tree and the reports compute from it (a node's, a
// function's, a thread's) is a sum of some of them, so while this one fits
// in an int64 none of them overflows into a negative share.
type valueSums [callgraph.NumValues]int64

func (s *valueSums) add(self *[callgraph.NumValues]int64) error {
	for v, x := range self {
		if x == math.MinInt64 || s[v] > math.MaxInt64-abs(x) {
			return fmt.Errorf("%s values add up past %d, which pyprof cannot count", callgraph.Value(v).Info().Type, int64(math.MaxInt64))
		}
		s[v] += abs(x)
	}
	return nil
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

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
	data, err := readFileBounded(path)
	if err != nil {
		return nil, err
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

// readFileBounded reads a whole file of at most maxProfileBytes; a larger
// regular file is refused before reading, others (a pipe) past the bound.
func readFileBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // already "open path: ..."
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() && info.Size() > maxProfileBytes {
		return nil, fmt.Errorf("reading %s: %w", path, tooLarge("the file"))
	}
	data, err := readAllBounded(f, "the file")
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}
