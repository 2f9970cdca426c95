package main

import (
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks is how many symlinks Linux follows before it gives up.
const maxLinks = 40

// outputTarget is the file that writing path would write: its symlinks
// followed as open(2) follows them, a dangling one to the path it names
// (which writing creates), and its folder's own links resolved, made
// absolute. It is stdoutName for a path that leads to standard output,
// such as a link to /dev/stdout. Two outputs with one target would
// overwrite each other, or mix on standard output.
func outputTarget(path string) string {
	p := path
	for range maxLinks {
		if isStdout(p) {
			return stdoutName
		}
		info, err := os.Lstat(p)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			break
		}
		link, err := os.Readlink(p)
		if err != nil {
			break
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(p), link)
		}
		p = link
	}
	dir, base := filepath.Split(p)
	if resolved, err := filepath.EvalSymlinks(dir); err == nil && dir != "" {
		p = filepath.Join(resolved, base)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// writesStdout reports whether writing path writes standard output: "-",
// one of its aliases, or a link to one.
func writesStdout(path string) bool {
	return path != "" && outputTarget(path) == stdoutName
}
