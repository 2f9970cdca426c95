package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const modulePath = "github.com/pyprof/pyprof"

// moduleRoot finds pyprof's module root from the current folder upwards,
// so that `go run ./bench/overhead` works from anywhere inside the repo.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isPyprofModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the " + modulePath + " module")
		}
		dir = parent
	}
}

func isPyprofModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == modulePath
		}
	}
	return false
}

// describeTree names the commit the module's tree is at, with "-dirty"
// when it has changes: what a binary built from it contains.
func describeTree(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// buildPyprof compiles ./cmd/pyprof into dir and returns the binary.
func buildPyprof(root, dir string, log io.Writer) (string, error) {
	out := filepath.Join(dir, "pyprof")
	fmt.Fprintln(log, "overhead: building pyprof from", root)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/pyprof")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building pyprof: %v\n%s", err, msg)
	}
	return out, nil
}
