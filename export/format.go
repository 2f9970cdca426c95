package export

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Format names a profile file format.
type Format string

// The formats pyprof writes.
const (
	Pprof      Format = "pprof"
	Folded     Format = "folded"
	SVG        Format = "svg"
	Speedscope Format = "speedscope"
)

var formats = []Format{Pprof, Folded, SVG, Speedscope}

// Formats lists every format pyprof knows, whether or not the package that
// writes it is linked in (see WriterFor).
func Formats() []Format { return slices.Clone(formats) }

// extensions maps file name endings to formats, longest first where one
// ends another (".speedscope.json" before anything ending ".json").
var extensions = []struct {
	ext    string
	format Format
}{
	{".speedscope.json", Speedscope},
	{".pb.gz", Pprof},
	{".pprof", Pprof},
	{".pb", Pprof},
	{".folded", Folded},
	{".collapsed", Folded},
	{".txt", Folded},
	{".svg", SVG},
}

// FormatFromPath tells a file's format from its name's extension, ignoring case.
func FormatFromPath(path string) (Format, error) {
	base := strings.ToLower(filepath.Base(path))
	for _, e := range extensions {
		if strings.HasSuffix(base, e.ext) && len(base) > len(e.ext) {
			return e.format, nil
		}
	}
	return "", fmt.Errorf("cannot tell the format of %q from its extension: use --format pprof|folded|svg|speedscope", path)
}

// ParseFormat returns the format called name, ignoring case.
func ParseFormat(name string) (Format, error) {
	for _, f := range formats {
		if strings.EqualFold(name, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: use pprof, folded, svg or speedscope", name)
}

// speedscopeSchema is the "$schema" value every speedscope file carries.
const speedscopeSchema = "https://www.speedscope.app/file-format-schema.json"

// Sniff tells a profile's format from its content, so that files from other
// tools need no particular extension: gzip or protobuf is pprof, JSON with
// speedscope's schema is speedscope, and text whose first line ends in a
// count is folded stacks. It returns ErrEmpty for empty or blank data.
func Sniff(data []byte) (Format, error) {
	text := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(text) == 0:
		return "", ErrEmpty
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return Pprof, nil
	case bytes.Contains(data[:min(len(data), 1<<16)], []byte(speedscopeSchema)) && (text[0] == '{' || text[0] == '['):
		return Speedscope, nil
	case text[0] == '{' || text[0] == '[':
		// A folded line may start with a marker frame such as
		// "[outer frames cut, 2000 kept]".
		if looksFolded(text) {
			return Folded, nil
		}
		return "", errors.New("json without the speedscope schema")
	case looksLikeProtobuf(data):
		return Pprof, nil
	case looksFolded(text):
		return Folded, nil
	}
	return "", fmt.Errorf("starts with %q", abbreviate(string(firstLine(text))))
}

// looksLikeProtobuf reports whether data starts with the key of a field of
// profile.proto (fields 1 to 15, varint or length-delimited) and has the
// small binary bytes that lengths and ids make but text never has.
func looksLikeProtobuf(data []byte) bool {
	field, wire := data[0]>>3, data[0]&7
	if field < 1 || field > 15 || wire != 0 && wire != 2 {
		return false
	}
	for _, c := range data[:min(len(data), 64)] {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}

// looksFolded reports whether the first line of text parses as folded. A
// frame may hold any character a file or function name can, control
// characters included (pyprof writes them as they are, as the lines after
// the first are read); a NUL, which no text holds, says the data is binary.
func looksFolded(text []byte) bool {
	line := firstLine(text)
	if bytes.IndexByte(line, 0) >= 0 {
		return false
	}
	_, _, err := splitFoldedLine(string(line))
	return err == nil
}

func firstLine(text []byte) []byte {
	line, _, _ := bytes.Cut(text, []byte("\n"))
	return bytes.TrimRight(line, "\r")
}
