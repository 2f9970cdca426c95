package main

import (
	"errors"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pyprof/pyprof/profiler"
)

// What a flag that pyprof does not know, or one of pyprof's in the wrong
// place, probably meant: each case gets one line that says what to type.

// flagErrorIn is flagError knowing the words the command was given, which
// record's hints need to say where a flag goes (args may be nil).
func flagErrorIn(fs *pflag.FlagSet, args []string, err error) error {
	if errors.Is(err, pflag.ErrHelp) {
		return helpRequest{fs.Name()}
	}
	var unknown *pflag.NotExistError
	if errors.As(err, &unknown) {
		return unknownFlag(fs, args, unknown)
	}
	return usagef("%s: %s (see `pyprof %s --help`)", fs.Name(), err, fs.Name())
}

// unknownFlag explains a flag fs does not have: the nearest one it has,
// else, for record, where Python's options and the program's flags go.
func unknownFlag(fs *pflag.FlagSet, args []string, e *pflag.NotExistError) error {
	cmd := fs.Name()
	word, typed := "--"+e.GetSpecifiedName(), e.GetSpecifiedName()
	if short := e.GetSpecifiedShortnames(); short != "" {
		// -mode is --mode typed with one dash more often than -m -o -d -e.
		word, typed = "-"+short, short
	}
	if near := nearestFlag(fs, typed); near != "" {
		return usagef("%s: unknown flag %s: did you mean --%s? (see `pyprof %s --help`)", cmd, word, near, cmd)
	}
	if cmd != "record" {
		return usagef("%s: unknown flag %s (see `pyprof %s --help`)", cmd, word, cmd)
	}
	if e.GetSpecifiedShortnames() != "" && isPythonShortOption(e.GetSpecifiedName()[0]) {
		return pythonOptionFirst(fs, args, word)
	}
	return usagef("record: unknown flag %s, not one of pyprof's (see `pyprof record --help`): the program's own flags go after the program, as in `pyprof record [flags] -- program %s`", word, word)
}

// pythonOptionFirst explains a Python option given before the program,
// where record reads its own flags, with the command line that works: the
// option moved after -- and the interpreter.
func pythonOptionFirst(fs *pflag.FlagSet, args []string, word string) error {
	at := slices.Index(args, word)
	if at < 0 {
		return usagef("record: %s is Python's option, not pyprof's: Python's options and the program go after --, as in `pyprof record [flags] -- python3.12 %s program`", word, word)
	}
	n := 1
	if len(word) == 2 && strings.ContainsRune("cmWX", rune(word[1])) && at+1 < len(args) {
		n = 2 // its value is the next word
	}
	moved := args[at : at+n]
	rest := append(append([]string{}, args[:at]...), args[at+n:]...)
	own, program := splitOwnFlags(fs, rest)
	fixed := append(own, "--")
	fixed = append(fixed, withPythonOptions(program, moved, own)...)
	return usagef("record: %s is Python's option, not pyprof's: Python's options and the program go after --, as in `pyprof record %s`", word, shellQuote(fixed))
}

// misplacedFlags refuses one of record's own flags where Python's options
// go (after --, or after the interpreter, before the script): Python would
// refuse it, or worse, take its value for the script. A flag that is
// Python's too (-q) is left to Python, unless an interpreter follows it.
func misplacedFlags(fs *pflag.FlagSet, args, words []string, dash bool, explicitPython bool) error {
	start := 0
	if t, _ := profiler.ParseTarget(words, explicitPython); t.Interpreter != "" {
		start = 1
	}
	if !dash && start == 0 {
		return nil // the program's own flags: programFlagNotice covers them
	}
	var m misplaced
	if dash && start == 0 {
		m.ownBeforeInterpreter(fs, words, explicitPython)
	}
	if m.moved == nil {
		if err := m.sort(fs, words, start); err != nil {
			return err
		}
	}
	if m.moved == nil {
		return nil
	}
	where, goesTo, before := "after --", "the program", "--"
	if !dash {
		where, goesTo, before = "after "+words[0], "Python", "the program"
	}
	fixed := m.fixed(args, words, dash)
	if m.typo != "" {
		return usagef("record: %s %s is no option of Python's: did you mean pyprof's %s? pyprof's flags go before %s, as in `pyprof record %s`", m.typo, where, m.near, before, fixed)
	}
	return usagef("record: %s %s goes to %s, not to pyprof: pyprof's flags go before %s, as in `pyprof record %s`", m.moved[0], where, goesTo, before, fixed)
}

// misplaced sorts the words where Python's options go into record's own
// flags, moved, and the rest, kept.
type misplaced struct {
	moved, keep []string
	// typo is a word that is neither Python's nor pyprof's, but near
	// pyprof's flag near, which moved holds instead.
	typo, near string
}

// ownBeforeInterpreter takes record's flags right after -- and before an
// interpreter (-- -q python3.12 app.py) as pyprof's, even those Python
// has too: Python's options come after the interpreter, never before it.
func (m *misplaced) ownBeforeInterpreter(fs *pflag.FlagSet, words []string, explicitPython bool) {
	if explicitPython {
		return
	}
	own, program := splitOwnFlags(fs, words)
	if len(own) == 0 || len(program) == 0 {
		return
	}
	if t, _ := profiler.ParseTarget(program, false); t.Interpreter != "" {
		m.moved, m.keep = own, program
	}
}

// sort reads words from start, where Python's options begin, to the
// script, -m or -c. An --option that is neither Python's nor near one of
// pyprof's is an error: Python would stop at it.
func (m *misplaced) sort(fs *pflag.FlagSet, words []string, start int) error {
	m.keep = append([]string{}, words[:start]...)
	for i := start; i < len(words); i++ {
		w := words[i]
		n, ours, stop := pythonSlotWord(fs, w)
		if stop {
			m.keep = append(m.keep, words[i:]...)
			break
		}
		if !ours && strings.HasPrefix(w, "--") && !isPythonLongOption(w) {
			near := nearestFlag(fs, w)
			if near == "" || m.typo != "" {
				return usagef("record: %s is no option of Python's, nor of pyprof's: the program's own flags go after the program, as in `pyprof record [flags] -- program %s`", w, w)
			}
			_, value, hasValue := strings.Cut(w, "=")
			m.typo, m.near, w = w, "--"+near, "--"+near
			if hasValue {
				w += "=" + value
			}
			n, ours = ownFlagWords(fs, w)
		}
		end := min(i+n, len(words))
		if ours {
			m.moved = append(m.moved, w)
			m.moved = append(m.moved, words[i+1:end]...)
		} else {
			m.keep = append(m.keep, words[i:end]...)
		}
		i = end - 1
	}
	return nil
}

// fixed is the command line with the moved flags among pyprof's own.
func (m *misplaced) fixed(args, words []string, dash bool) string {
	own := args[:len(args)-len(words)]
	if dash {
		own = own[:len(own)-1]
	}
	out := append(append([]string{}, own...), m.moved...)
	if dash {
		out = append(out, "--")
	}
	return shellQuote(append(out, m.keep...))
}

// pythonSlotWord reads one word where Python's options go: how many words
// it takes, whether it is one of record's own flags, and whether Python's
// options end there (the script, -m or -c).
func pythonSlotWord(fs *pflag.FlagSet, w string) (n int, ours, stop bool) {
	switch {
	case w == "--" || w == "-" || !strings.HasPrefix(w, "-"), w[1] == 'm', w[1] == 'c':
		return 0, false, true
	case isPythonLongOption(w):
		return 1 + boolInt(w == "--check-hash-based-pycs"), false, false
	case !strings.HasPrefix(w, "--") && isPythonShortOption(w[1]):
		return 1 + boolInt(len(w) == 2 && (w[1] == 'X' || w[1] == 'W')), false, false
	}
	if n, ok := ownFlagWords(fs, w); ok {
		return n, true, false
	}
	return 1, false, false
}

// ownFlagWords says whether w is one of record's flags, and how many words
// it takes with its value.
func ownFlagWords(fs *pflag.FlagSet, w string) (int, bool) {
	var fl *pflag.Flag
	inline := false
	if name, ok := strings.CutPrefix(w, "--"); ok {
		name, _, inline = strings.Cut(name, "=")
		fl = fs.Lookup(name)
	} else if len(w) >= 2 && w[0] == '-' {
		fl, inline = fs.ShorthandLookup(w[1:2]), len(w) > 2
	}
	if fl == nil {
		return 0, false
	}
	return 1 + boolInt(!inline && fl.NoOptDefVal == ""), true
}

// splitOwnFlags splits the words before the program into record's own
// flags (with their values) and the program's words, dropping a --.
func splitOwnFlags(fs *pflag.FlagSet, words []string) (own, program []string) {
	for i := 0; i < len(words); i++ {
		if words[i] == "--" {
			return own, words[i+1:]
		}
		n, ok := ownFlagWords(fs, words[i])
		if !ok {
			return own, words[i:]
		}
		end := min(i+n, len(words))
		own = append(own, words[i:end]...)
		i = end - 1
	}
	return own, nil
}

// withPythonOptions puts options after the program's interpreter, or first
// when record picks the interpreter.
func withPythonOptions(program, options, own []string) []string {
	t, _ := profiler.ParseTarget(program, slices.Contains(own, "--python"))
	if t.Interpreter == "" {
		return append(append([]string{}, options...), program...)
	}
	out := append([]string{program[0]}, options...)
	return append(out, program[1:]...)
}

// nearestFlag returns the name of fs's listed flag nearest to a mistyped
// one, or "": pflag has no such suggestion for flags (only cobra has, for
// commands). Near is an edit distance of one for short names and two for
// longer ones, or the start of a flag's name (--sub for --subprocesses).
func nearestFlag(fs *pflag.FlagSet, typed string) string {
	typed = strings.TrimLeft(typed, "-")
	typed, _, _ = strings.Cut(typed, "=")
	limit := 1
	switch {
	case len(typed) < 3:
		limit = 0
	case len(typed) > 5:
		limit = 2
	}
	best, bestDist := "", limit+1
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Hidden {
			return
		}
		d := flagDistance(typed, fl.Name)
		if len(typed) >= 3 && strings.HasPrefix(fl.Name, typed) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = fl.Name, d
		}
	})
	return best
}

// flagDistance is Levenshtein's edit distance (insertions, deletions and
// substitutions, each costing one) extended by swaps of two adjacent
// letters, which cost one too: the commonest typo, --mdoe for --mode, is
// then as near as one wrong letter instead of two away, as near as --idle.
func flagDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := boolInt(a[i-1] != b[j-1])
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// isPythonShortOption tells the letters of CPython's own options (python
// --help), which record does not take but the interpreter after -- does.
func isPythonShortOption(c byte) bool {
	return strings.IndexByte("bBcdEhiImOPqRsSuvVWxX", c) >= 0
}

// isPythonLongOption tells CPython's own --options.
func isPythonLongOption(w string) bool {
	name, _, _ := strings.Cut(w, "=")
	switch name {
	case "--check-hash-based-pycs", "--help", "--version", "--help-env", "--help-xoptions", "--help-all":
		return true
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
