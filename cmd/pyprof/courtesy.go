package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// helpOut is where --help on a command prints its help: run sets it to
// standard output, since asking for help is not an error.
var helpOut io.Writer = io.Discard

// helpRequest is the "error" of a command asked for --help: exitCode
// prints the command's help and exits 0.
type helpRequest struct{ cmd string }

func (h helpRequest) Error() string { return h.cmd + ": help requested" }

// flagError turns pflag's parse error into pyprof's: --help into the
// command's help, an unknown flag into a hint (flagErrorIn).
func flagError(fs *pflag.FlagSet, err error) error {
	return flagErrorIn(fs, nil, err)
}

// programFlagNotice warns when a word after the program looks like one of
// record's own flags and no -- said where the program begins: it goes to
// the program, which may be what was meant, or not.
func programFlagNotice(fs *pflag.FlagSet, words []string, stderr io.Writer) {
	if fs.ArgsLenAtDash() >= 0 || len(words) < 2 {
		return
	}
	for _, w := range words[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(w, "-"), "=")
		if !strings.HasPrefix(w, "-") || name == "" {
			continue
		}
		if fs.Lookup(name) != nil || len(name) == 1 && fs.ShorthandLookup(name) != nil {
			fmt.Fprintf(stderr, "pyprof: %s after %s goes to the program; pyprof's own flags go before it\n", w, words[0])
			return
		}
	}
}

// commandHelp returns the part of the manual about one command: its usage
// lines and its section.
func commandHelp(cmd string) string {
	text := manual()
	var b strings.Builder
	b.WriteString("Usage:\n\n")
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "pyprof "+cmd+" ") || strings.TrimSpace(line) == "pyprof "+cmd {
			b.WriteString(line + "\n")
		}
	}
	start, end := sectionBounds(cmd)
	b.WriteString(section(text, start, end))
	switch cmd {
	case "record", "flamegraph", "report", "diff", "convert":
		// What every reader does to the import machinery, and the flags
		// that reshape a profile.
		b.WriteString(section(text, "Imports are frames", "flamegraph writes"))
	}
	return b.String()
}

// section returns the manual's text from the paragraph that opens with
// start up to the one that opens with end, after a blank line; "" when no
// paragraph opens with start. Only a paragraph's first words count: the
// same words inside another command's text ("--report prints it") are
// not where a section begins or ends.
func section(text, start, end string) string {
	i := paragraphIndex(text, start)
	if i < 0 {
		return ""
	}
	s := text[i:]
	if j := paragraphIndex(s, end); j >= 0 {
		s = s[:j]
	}
	return "\n" + strings.TrimRight(s, "\n") + "\n"
}

// paragraphIndex is the index in text of the first paragraph that opens
// with prefix (at the start of text or after a blank line), or -1.
func paragraphIndex(text, prefix string) int {
	if strings.HasPrefix(text, prefix) {
		return 0
	}
	if i := strings.Index(text, "\n\n"+prefix); i >= 0 {
		return i + 2
	}
	return -1
}

// sectionBounds names where each command's section of the manual starts
// and what follows it.
func sectionBounds(cmd string) (start, end string) {
	switch cmd {
	case "record":
		return "The program is a script", "A profile holds these sample types"
	case "flamegraph":
		return "flamegraph writes", "report prints"
	case "report":
		return "report prints", "diff compares"
	case "diff":
		return "diff compares", "dump prints"
	case "dump":
		return "dump prints", "top samples"
	case "top":
		return "top samples", "convert rewrites"
	case "convert":
		return "convert rewrites", "Outputs are written"
	}
	return "\x00", ""
}

// suggest returns the known command closest to a mistyped one, or "".
func suggest(word string) string {
	names := []string{"help", "version"}
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(word, n); d < bestDist || strings.HasPrefix(n, word) && len(word) >= 2 && bestDist > 1 {
			best, bestDist = n, min(d, 1)
		}
	}
	return best
}

// editDistance is Levenshtein's distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// shellQuote writes words as a shell would read them back.
func shellQuote(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			out[i] = w
			continue
		}
		out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
