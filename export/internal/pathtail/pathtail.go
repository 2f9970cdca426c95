// Package pathtail shortens file paths to what tells them apart, for
// lines people read: the interpreter's long prefix says nothing, and two
// files of one name must still look different.
package pathtail

import (
	"path/filepath"
	"strings"
)

// Distinct maps each path to its shortest tail of whole path components
// that no other path of the set ends with, so that
// /usr/lib/python3.12/json/__init__.py and .../logging/__init__.py become
// json/__init__.py and logging/__init__.py. A path that every tail of
// another ends with stays whole.
func Distinct(paths []string) map[string]string {
	distinct := map[string][]string{}
	ends := map[string]int{} // tail -> distinct paths ending with it
	for _, p := range paths {
		if _, ok := distinct[p]; ok {
			continue
		}
		parts := strings.Split(filepath.ToSlash(p), "/")
		distinct[p] = parts
		for n := 1; n <= len(parts); n++ {
			ends[strings.Join(parts[len(parts)-n:], "/")]++
		}
	}
	out := map[string]string{}
	for p, parts := range distinct {
		out[p] = p
		for n := 1; n < len(parts); n++ {
			if tail := strings.Join(parts[len(parts)-n:], "/"); ends[tail] == 1 {
				out[p] = tail
				break
			}
		}
	}
	return out
}
