package agent

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed py/sitecustomize.py
var siteSource []byte

// Children is what the new interpreters a program starts need to be
// followed (record --subprocesses).
type Children struct {
	// Site is the folder holding pyprof's sitecustomize.py, put first on the
	// children's PYTHONPATH.
	Site string
	// Twin is the pure-Python agent, for interpreters the C agent was not
	// built for.
	Twin string
}

// PrepareChildren writes them under the cache folder. The folder is named
// by its content's hash, as the other cached files are, so that a
// recording never loads a sitecustomize.py of another pyprof version.
func PrepareChildren() (*Children, error) {
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	twin, err := writeCached(dir, "twin", ".py", twinSource)
	if err != nil {
		return nil, err
	}
	site := filepath.Join(dir, "site-"+hashOf(siteSource)[:16])
	if err := privateDir(site); err != nil {
		return nil, err
	}
	if err := blockBytecode(site); err != nil {
		return nil, err
	}
	path := filepath.Join(site, "sitecustomize.py")
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, siteSource) || privateFile(path) != nil {
		if err := writeAtomic(path, siteSource, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
	}
	return &Children{Site: site, Twin: twin}, nil
}
