package main

import (
	"errors"
	"fmt"

	"github.com/pyprof/pyprof/profiler/agent"
)

// python is one interpreter to measure with.
type python struct {
	name    string // as given to --python
	path    string // its sys.executable: runs never go through a shim
	version string // "3.12.1"
}

// errNoPython says that an interpreter named by --python cannot run.
var errNoPython = errors.New("no such interpreter")

// resolvePythons finds every interpreter of --python, the way pyprof itself
// finds one by name (profiler/agent.Find).
func resolvePythons(names []string) ([]*python, error) {
	var out []*python
	for _, name := range names {
		i, err := agent.Find(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errNoPython, err)
		}
		if !i.Supported() {
			return nil, fmt.Errorf("%w: %s is Python %s; pyprof needs 3.12 or newer", errUsage, name, i.VersionString())
		}
		out = append(out, &python{name: name, path: i.Executable, version: i.VersionString()})
	}
	return out, nil
}
