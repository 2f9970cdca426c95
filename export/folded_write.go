package export

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/pyprof/pyprof/callgraph"
)

// WriteFolded writes p as folded stacks, flamegraph.pl's input: one line
// "root;...;leaf weight" per distinct path of function names, weighted by the
// nodes' self values of v so the lines add up to the pprof total of v. Names
// are pprof's function names with ';' turned into ':', line breaks into
// spaces and trailing blanks dropped, since the format has no escaping; an
// empty name is written "[unknown]".
//
// Threads are not written as frames: the root of the flame graph is the
// program, and the same function called on several threads is one tower.
//
// Lines come in depth-first order of the merged name tree, siblings in the
// order the walk first met them (a path cut at Options.MaxDepth only when
// it carries weight), threads in profile order. That is the order
// in which ReadFolded's tree is walked again, so writing what it read gives
// the same bytes.
func WriteFolded(w io.Writer, p *callgraph.Profile, v callgraph.Value, opts Options) error {
	if !p.Has(v) {
		return fmt.Errorf("writing folded stacks: profile has no %s values", v.Info().Type)
	}
	fw := newFoldedWriter(NewWalker(p, opts), v)
	if err := fw.walker.Walk(fw.add); err != nil {
		return fmt.Errorf("writing folded stacks: %w", err)
	}
	bw := bufio.NewWriter(w)
	fw.write(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing folded stacks: %w", err)
	}
	return nil
}

// foldedWriter merges paths by their names in a pathTrie, adding up the
// weights of each distinct name path.
type foldedWriter struct {
	walker  *Walker
	value   callgraph.Value
	trie    *pathTrie
	weights []int64          // by trie node
	names   []string         // sanitized names by name id, the trie's symbols
	ids     map[string]int32 // name id by sanitized name
	byFunc  []int32          // name id + 1 by FuncID, 0 until first seen
	// whole holds the trie node of each whole path from the root down to
	// the node being added: a depth-first walk visits a node's ancestors
	// before it and their other descendants before its own.
	whole []int32
}

func newFoldedWriter(w *Walker, v callgraph.Value) *foldedWriter {
	return &foldedWriter{walker: w, value: v, trie: newPathTrie(), ids: make(map[string]int32)}
}

// add merges the path of n into the trie and adds n's self value to it.
// A whole path extends its parent's by one name, so it takes one step
// from the parent's trie node. A cut path shares no trie node with its
// parent's and is merged frame by frame, but only when it carries weight:
// merging the cut paths of every node below the cut took the depth times
// the cut's frames, and a path without weight prints nothing.
func (fw *foldedWriter) add(_ *callgraph.Thread, n *callgraph.Node, path Path) {
	self := n.Self(fw.value)
	var node int32
	switch {
	case !path.Cut():
		node = fw.extend(path)
	case self == 0:
		return
	default:
		node = fw.merge(path.Frames())
	}
	fw.weights = growTo(fw.weights, int(node)+1)
	fw.weights[node] += self
}

// extend returns the trie node of a whole path, one step below its
// parent's, and remembers it for the node's children.
func (fw *foldedWriter) extend(path Path) int32 {
	parent := int32(0)
	if d := path.Depth(); d > 0 {
		parent = fw.whole[d-1]
	}
	node := fw.trie.child(parent, fw.nameID(path.Leaf().Func))
	fw.whole = append(fw.whole[:path.Depth()], node)
	return node
}

// merge returns the trie node of a cut path, merging it from the root.
func (fw *foldedWriter) merge(frames []Frame) int32 {
	fw.trie.start(0, len(frames))
	for i, f := range frames {
		fw.trie.step(i, fw.nameID(f.Func))
	}
	return fw.trie.node()
}

func (fw *foldedWriter) nameID(f callgraph.FuncID) int32 {
	fw.byFunc = growTo(fw.byFunc, int(f)+1)
	if id := fw.byFunc[f]; id != 0 {
		return id - 1
	}
	name := foldedName(fw.walker.Func(f).Name)
	id, ok := fw.ids[name]
	if !ok {
		id = int32(len(fw.names))
		fw.names = append(fw.names, name)
		fw.ids[name] = id
	}
	fw.byFunc[f] = id + 1
	return id
}

// foldedName makes a name safe for a format without escaping: ";" would
// split the frame, line ends and tabs would break the line, and other
// control characters (a terminal's escape sequences, NUL) would reach
// whoever prints the file, so they read "?", as the agents write what
// they cannot carry. Trailing blanks go too: at the end of a line no
// reader can tell them from the space before the count. A name left empty
// becomes "[unknown]", as perf's stackcollapse writes it, since a lone
// empty frame is no stack at all.
func foldedName(name string) string {
	name = strings.TrimRight(strings.Map(foldedRune, name), " ")
	if name == "" {
		return "[unknown]"
	}
	return name
}

func foldedRune(r rune) rune {
	switch {
	case r == ';':
		return ':'
	case r == '\n' || r == '\r' || r == '\t':
		return ' '
	case unicode.IsControl(r):
		return '?'
	}
	return r
}

// write prints every name path of nonzero weight, depth first. Errors stick
// in the bufio.Writer and come out of Flush.
func (fw *foldedWriter) write(w *bufio.Writer) {
	var buf []byte
	fw.trie.walk(0, func(stack []int32) {
		node := stack[len(stack)-1]
		if int(node) < len(fw.weights) && fw.weights[node] != 0 {
			buf = fw.appendLine(buf[:0], stack, fw.weights[node])
			w.Write(buf)
		}
	})
}

func (fw *foldedWriter) appendLine(buf []byte, stack []int32, weight int64) []byte {
	for i, n := range stack {
		if i > 0 {
			buf = append(buf, ';')
		}
		buf = append(buf, fw.names[fw.trie.nodes[n].sym]...)
	}
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, weight, 10)
	return append(buf, '\n')
}
