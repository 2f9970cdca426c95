package main

import (
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export/view"
)

// viewFlags are the flags that reshape a profile before it is shown or
// written: --raw-imports, --hide, --focus and --idle.
type viewFlags struct {
	cmd         string
	rawImports  bool
	hide, focus string
	// idle keeps the idle waiting of pools and event loops where it
	// happened; without it, apply folds it apart when foldIdle is set.
	idle, foldIdle bool
	// noMatch, when set, hears of a --hide or --focus that matches no
	// frame.
	noMatch func(filter string, re *regexp.Regexp)
	// warn, when set, hears of a --raw-imports that cannot be kept: the
	// profile was written with its imports folded.
	warn func(msg string)
}

// addViewFlags adds --raw-imports to fs, and --hide and --focus when
// filters is true.
func addViewFlags(fs *pflag.FlagSet, filters bool) *viewFlags {
	v := &viewFlags{cmd: fs.Name()}
	fs.BoolVar(&v.rawImports, "raw-imports", false, "")
	if filters {
		fs.StringVar(&v.hide, "hide", "", "")
		fs.StringVar(&v.focus, "focus", "", "")
	}
	return v
}

// options compiles the flags; a bad regexp is a usage error.
func (v *viewFlags) options() (view.Options, error) {
	opts := view.Options{RawImports: v.rawImports, NoMatch: v.noMatch}
	var err error
	if opts.Hide, err = v.compile("hide", v.hide); err != nil {
		return opts, err
	}
	opts.Focus, err = v.compile("focus", v.focus)
	return opts, err
}

func (v *viewFlags) compile(flag, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, usagef("%s: --%s %q: %v", v.cmd, flag, expr, err)
	}
	return re, nil
}

// addIdleFlag adds --idle to fs. With fold, apply puts the idle waiting
// of pools and event loops apart unless --idle is given; without, the
// command's view does that itself.
func (v *viewFlags) addIdleFlag(fs *pflag.FlagSet, fold bool) {
	fs.BoolVar(&v.idle, "idle", false, "")
	v.foldIdle = fold
}

// apply reshapes the profiles as the flags ask.
func (v *viewFlags) apply(ps ...*callgraph.Profile) error {
	opts, err := v.options()
	if err != nil {
		return err
	}
	for _, p := range ps {
		if v.foldIdle && !v.idle {
			// The idle waiting is folded before --hide and --focus, which
			// would otherwise hide the loops it is recognized by.
			*p = *view.FoldIdle(p)
		}
		if v.rawImports && v.warn != nil && importsFolded(p) {
			v.warn("--raw-imports: the profile was written with its imports folded, one frame per import; " +
				"record with --raw-imports to keep the import machinery's frames")
			v.warn = nil // once for all the profiles read
		}
		view.Apply(p, opts)
	}
	return nil
}

// importsFolded reports whether p holds import frames folded when it was
// written and none of the machinery they stand for, which no view can
// bring back.
func importsFolded(p *callgraph.Profile) bool {
	folded := false
	for _, f := range p.Funcs {
		if strings.HasPrefix(f.Filename, "<frozen importlib._bootstrap") || strings.Contains(f.Filename, "/importlib/_bootstrap") {
			return false
		}
		folded = folded || strings.HasPrefix(f.Name, view.ImportPrefix)
	}
	return folded
}
