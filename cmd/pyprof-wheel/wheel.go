package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/pyprof/pyprof/internal/version"
)

// python is the pyprof package the wheels install.
//
//go:embed pyprof/*.py
var python embed.FS

// Platform is what one wheel runs on.
type Platform struct {
	GOARCH string
	// Machine names the architecture in wheel tags; ELF in the executable.
	Machine string
	ELF     elf.Machine
}

var platforms = []Platform{
	{GOARCH: "amd64", Machine: "x86_64", ELF: elf.EM_X86_64},
	{GOARCH: "arm64", Machine: "aarch64", ELF: elf.EM_AARCH64},
}

// Platforms names the platforms there are wheels for.
func Platforms() []string {
	var names []string
	for _, p := range platforms {
		names = append(names, p.Name())
	}
	return names
}

// PlatformNamed returns the platform called name (linux-amd64, linux-arm64).
func PlatformNamed(name string) (Platform, error) {
	for _, p := range platforms {
		if p.Name() == name {
			return p, nil
		}
	}
	return Platform{}, fmt.Errorf("no wheel for platform %q: choose among %s", name, strings.Join(Platforms(), ", "))
}

// Name is GOOS-GOARCH.
func (p Platform) Name() string { return "linux-" + p.GOARCH }

// Tags are the wheel's platform tags: glibc 2.17 or newer (manylinux2014
// is the older name of manylinux_2_17). The executable is static, but the
// agent it gives the program is a CPython extension linked against glibc
// (bound to its 2.17 symbols), which a musl Python cannot load: there is
// no musllinux tag.
func (p Platform) Tags() []string {
	return []string{"manylinux_2_17_" + p.Machine, "manylinux2014_" + p.Machine}
}

// WheelName is the file name of the wheel of version v for p.
func (p Platform) WheelName(v string) string {
	return fmt.Sprintf("%s-%s-py3-none-%s.whl", distName, v, strings.Join(p.Tags(), "."))
}

const (
	distName = "pyprof"
	homepage = "https://github.com/pyprof/pyprof"
	summary  = "Exact call profiles of Python 3.12+ programs (sys.monitoring), as pprof, flame graphs and folded stacks"
	// license: the project has not chosen one yet; this is the one place
	// to name it when it does.
	license = "Not yet chosen: all rights reserved by the authors"
)

// errOutput marks a failure to write the wheel.
var errOutput = errors.New("output")

// Build cross-compiles the pyprof executable for p and writes its wheel
// into dir, returning the wheel's path. The wheel appears whole or not
// at all.
func Build(p Platform, dir string) (string, error) {
	work, err := os.MkdirTemp("", "pyprof-wheel-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	exe := filepath.Join(work, "pyprof")
	if err := compile(p, exe); err != nil {
		return "", err
	}
	binary, v, err := checkExecutable(exe, p)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := writeWheel(&buf, Files(v, p, binary)); err != nil {
		return "", err
	}
	out := filepath.Join(dir, p.WheelName(v))
	if err := writeAtomic(out, buf.Bytes()); err != nil {
		return "", fmt.Errorf("%w: %v", errOutput, err)
	}
	if err := removeOlderWheels(dir, p, out); err != nil {
		return "", fmt.Errorf("%w: %v", errOutput, err)
	}
	return out, nil
}

// removeOlderWheels removes from dir the wheels for p that an earlier
// build wrote (another version, such as another commit's), keeping the
// one just written: `pip install dir/pyprof-*x86_64.whl` then names one
// wheel. Only files named as this builder names them go.
func removeOlderWheels(dir string, p Platform, keep string) error {
	older, err := filepath.Glob(filepath.Join(dir, p.WheelName("*")))
	if err != nil {
		return err
	}
	for _, path := range older {
		if path == keep {
			continue
		}
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	return nil
}

// compile builds cmd/pyprof for p: static (CGO_ENABLED=0), without the
// paths of the machine it was built on, stripped.
func compile(p Platform, exe string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the go command is needed to build pyprof's executable: install Go or put it on PATH")
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", exe, "github.com/pyprof/pyprof/cmd/pyprof")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+p.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build failed: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// checkExecutable reads the built executable, checks that it is a static
// ELF executable for p (what the wheel's tags promise), and returns it
// with its version.
func checkExecutable(exe string, p Platform) ([]byte, string, error) {
	binary, err := os.ReadFile(exe)
	if err != nil {
		return nil, "", err
	}
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		return nil, "", fmt.Errorf("the built executable is not ELF: %w", err)
	}
	if f.Machine != p.ELF {
		return nil, "", fmt.Errorf("the built executable is for %v, not %v", f.Machine, p.ELF)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return nil, "", errors.New("the built executable is dynamically linked: the wheel needs a static one (CGO_ENABLED=0)")
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		return nil, "", fmt.Errorf("the built executable has no build information: %w", err)
	}
	return binary, version.FromBuild(bi), nil
}

// File is one file of a wheel.
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode
}

// Files are the wheel's files for version v on p, RECORD aside: the Python
// package, the executable as a script (installed on PATH; installers
// copy a script that does not start with #!python as it is), and the
// metadata, last, where installers look for it.
func Files(v string, p Platform, binary []byte) []File {
	var files []File
	entries, _ := fs.ReadDir(python, "pyprof")
	for _, e := range entries {
		data, _ := fs.ReadFile(python, "pyprof/"+e.Name())
		files = append(files, File{Name: "pyprof/" + e.Name(), Data: data, Mode: 0o644})
	}
	data := fmt.Sprintf("%s-%s.data", distName, v)
	files = append(files, File{Name: data + "/scripts/pyprof", Data: binary, Mode: 0o755})
	info := DistInfo(v)
	files = append(files,
		File{Name: info + "/METADATA", Data: []byte(metadata(v)), Mode: 0o644},
		File{Name: info + "/WHEEL", Data: []byte(wheelMetadata(v, p)), Mode: 0o644})
	return files
}

// DistInfo is the wheel's metadata folder.
func DistInfo(v string) string { return fmt.Sprintf("%s-%s.dist-info", distName, v) }

func metadata(v string) string {
	lines := []string{
		"Metadata-Version: 2.1",
		"Name: " + distName,
		"Version: " + v,
		"Summary: " + summary,
		"Home-page: " + homepage,
		"License: " + license,
		"Project-URL: Source, " + homepage,
		"Project-URL: Documentation, " + homepage + "#readme",
		"Project-URL: Issues, " + homepage + "/issues",
		"Keywords: profiler,profiling,tracing,sys.monitoring,pprof,flamegraph",
		"Classifier: Development Status :: 3 - Alpha",
		"Classifier: Intended Audience :: Developers",
		"Classifier: Operating System :: POSIX :: Linux",
		"Classifier: Programming Language :: Python :: 3 :: Only",
		"Classifier: Programming Language :: Python :: 3.12",
		"Classifier: Programming Language :: Python :: 3.13",
		"Classifier: Programming Language :: Python :: 3.14",
		"Classifier: Programming Language :: Python :: Implementation :: CPython",
		"Classifier: Topic :: Software Development :: Debuggers",
		"Requires-Python: >=3.12",
		"Description-Content-Type: text/markdown",
	}
	return strings.Join(lines, "\n") + "\n\n" + description
}

const description = `# pyprof

Exact call profiles of Python 3.12+ programs: every call counted, wall and
CPU time per calling context, from ` + "`sys.monitoring`" + `; written as pprof
profiles, flame graphs (SVG), folded stacks and speedscope files.

    pyprof record -o out.svg -- python app.py

or around a region of a running program:

    import pyprof

    with pyprof.profile("request.pb.gz"):
        handle(request)

` + "`python -m pyprof`" + ` runs the same executable. See ` + homepage + `.
`

// wheelMetadata is WHEEL: the executable makes the wheel a platform one,
// installed into platlib.
func wheelMetadata(v string, p Platform) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Wheel-Version: 1.0\nGenerator: pyprof-wheel %s\nRoot-Is-Purelib: false\n", v)
	for _, tag := range p.Tags() {
		fmt.Fprintf(&b, "Tag: py3-none-%s\n", tag)
	}
	return b.String()
}

// zipTime is every entry's time, so that a build from the same sources
// gives the same wheel.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// writeWheel writes files and their RECORD as a wheel (a zip archive).
func writeWheel(w io.Writer, files []File) error {
	z := zip.NewWriter(w)
	var record strings.Builder
	var info string
	for _, f := range files {
		if err := addFile(z, f); err != nil {
			return err
		}
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.Name, base64.RawURLEncoding.EncodeToString(sum[:]), len(f.Data))
		if path.Base(f.Name) == "METADATA" {
			info = path.Dir(f.Name)
		}
	}
	if info == "" {
		return errors.New("no METADATA among the wheel's files")
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", info)
	if err := addFile(z, File{Name: info + "/RECORD", Data: []byte(record.String()), Mode: 0o644}); err != nil {
		return err
	}
	return z.Close()
}

func addFile(z *zip.Writer, f File) error {
	h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: zipTime}
	h.SetMode(f.Mode)
	w, err := z.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = w.Write(f.Data)
	return err
}

// writeAtomic writes data to path through a temporary file in the same
// folder, renamed over it once complete.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pyprof-wheel-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
