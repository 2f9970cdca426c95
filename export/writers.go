package export

import (
	"io"
	"sync"

	"github.com/pyprof/pyprof/callgraph"
)

// A Writer writes a profile in one format. Every format takes the same
// Options, so a flag such as --max-depth means the same in all of them.
type Writer func(io.Writer, *callgraph.Profile, Options) error

var (
	writersMu sync.RWMutex
	writers   = map[Format]Writer{
		Pprof:  WritePprof,
		Folded: writeFoldedValue,
	}
)

// writeFoldedValue is WriteFolded as a Writer: weighed by opts.Value, or
// by the profile's default quantity.
func writeFoldedValue(w io.Writer, p *callgraph.Profile, opts Options) error {
	return WriteFolded(w, p, opts.value(p), opts)
}

// RegisterWriter makes WriterFor(f) return write, replacing any writer of
// f. Packages of other formats (flame graphs, speedscope) call it from
// init: they use export's walker, so export cannot import them.
func RegisterWriter(f Format, write Writer) {
	writersMu.Lock()
	defer writersMu.Unlock()
	writers[f] = write
}

// WriterFor returns the writer of format f, or nil when no package that
// writes f is linked in.
func WriterFor(f Format) Writer {
	writersMu.RLock()
	defer writersMu.RUnlock()
	return writers[f]
}
