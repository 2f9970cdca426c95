package export

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pyprof/pyprof/callgraph"
)

// maxFoldedLine bounds one line of a folded file: 2,001 frames of long
// qualified names fit easily, a corrupt file without newlines does not
// exhaust memory.
const maxFoldedLine = 64 << 20

// ReadFolded reads folded stacks ("a;b;c 123"), written by WriteFolded or by
// flamegraph.pl, py-spy, austin and the like, reading each count as the self
// value v of the stack's leaf. The count is the last space-separated field;
// frames may contain spaces and are kept whole as function names, so "func
// (file.py:12)" stays as it is. Blank lines are skipped. A folded file has no
// threads, so the profile has one thread "all"; it knows no files either, so
// frames are Python functions, or markers when bracketed (callgraph.KindOf). It returns
// ErrEmpty when there is no stack, and ErrTooLarge past MaxProfileBytes or
// MaxTreeNodes. Counts that add up past an int64 are refused.
func ReadFolded(r io.Reader, v callgraph.Value) (*callgraph.Profile, error) {
	fr := newFoldedReader(v)
	in := &boundedReader{r: r, left: maxProfileBytes}
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, maxFoldedLine)
	for lineNo := 1; sc.Scan(); lineNo++ {
		if err := fr.addLine(sc.Bytes()); err != nil {
			if in.over { // the line was cut at the bound
				return nil, tooLarge("the folded file")
			}
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading folded stacks: %w", err)
	}
	if in.over {
		return nil, tooLarge("the folded file")
	}
	if fr.stacks == 0 {
		return nil, ErrEmpty
	}
	return fr.tree.prof, nil
}

type foldedReader struct {
	value  callgraph.Value
	tree   *treeBuilder
	thread *callgraph.Thread
	funcs  map[string]callgraph.FuncID
	path   []Frame
	stacks int
	sums   valueSums
}

func newFoldedReader(v callgraph.Value) *foldedReader {
	tree := newTreeBuilder([]callgraph.Value{v}, v)
	return &foldedReader{
		value:  v,
		tree:   tree,
		thread: tree.addThread(0, "all", 0),
		funcs:  make(map[string]callgraph.FuncID),
	}
}

func (fr *foldedReader) addLine(line []byte) error {
	line = bytes.TrimRight(line, "\r") // files written on Windows
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	stack, count, err := splitFoldedLine(string(line))
	if err != nil {
		return err
	}
	if err := CheckStackDepth(strings.Count(stack, ";") + 1); err != nil {
		return err
	}
	fr.path = fr.path[:0]
	for frame := range strings.SplitSeq(stack, ";") {
		// No profiler writes a frame with no name: "a;;b" is damage.
		if frame == "" {
			return errors.New("a frame with no name (two ';' in a row, or one at an end of the stack)")
		}
		fr.path = append(fr.path, Frame{Func: fr.function(frame)})
	}
	var self [callgraph.NumValues]int64
	self[fr.value] = count
	if err := fr.sums.add(&self); err != nil {
		return err
	}
	fr.tree.addStack(fr.thread, fr.path, &self)
	fr.stacks++
	return checkNodes(fr.tree)
}

// boundedReader reads at most left bytes of r, then reports EOF and
// whether there was more.
type boundedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a file of exactly the bound from a longer one.
		n, _ := b.r.Read(make([]byte, 1))
		b.over = n > 0
		return 0, io.EOF
	}
	n, err := b.r.Read(p[:min(int64(len(p)), b.left)])
	b.left -= int64(n)
	return n, err
}

// splitFoldedLine splits "stack count" at the last space or tab.
func splitFoldedLine(line string) (stack string, count int64, err error) {
	i := strings.LastIndexAny(line, " \t")
	if i < 0 {
		return "", 0, fmt.Errorf("no count after the stack in %q", abbreviate(line))
	}
	count, err = strconv.ParseInt(line[i+1:], 10, 64)
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(line[i+1:], "-") {
		return "", 0, fmt.Errorf("count %s is past what an int64 holds", abbreviate(line[i+1:]))
	}
	if err != nil || count < 0 {
		return "", 0, fmt.Errorf("count %q is not a whole number", abbreviate(line[i+1:]))
	}
	stack = strings.TrimRight(line[:i], " \t")
	if stack == "" {
		return "", 0, fmt.Errorf("no stack before the count %d", count)
	}
	return stack, count, nil
}

func (fr *foldedReader) function(name string) callgraph.FuncID {
	if id, ok := fr.funcs[name]; ok {
		return id
	}
	id := fr.tree.prof.AddFunc(callgraph.Func{Name: name, Kind: callgraph.KindOf(name, "", false)})
	fr.funcs[name] = id
	return id
}

// abbreviate keeps error messages on one readable line.
func abbreviate(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	end := max
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + "..."
}
