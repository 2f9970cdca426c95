package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pyprof/pyprof/callgraph"
	"github.com/pyprof/pyprof/export"
	"github.com/pyprof/pyprof/internal/testpython"
	"github.com/pyprof/pyprof/internal/version"
	"github.com/pyprof/pyprof/profiler/agent"
)

var (
	buildOnce sync.Once
	wheelDir  string
	wheels    map[string]string // platform name -> wheel path
	buildErr  error
)

// builtWheels builds every platform's wheel once per test process: the
// cross-compilations are the slow part of these tests.
func builtWheels(t *testing.T) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		wheelDir, buildErr = os.MkdirTemp("", "pyprof-wheels-*")
		if buildErr != nil {
			return
		}
		wheels = map[string]string{}
		for _, p := range platforms {
			path, err := Build(p, wheelDir)
			if err != nil {
				buildErr = fmt.Errorf("%s: %w", p.Name(), err)
				return
			}
			wheels[p.Name()] = path
		}
	})
	if buildErr != nil {
		t.Fatalf("building the wheels: %v", buildErr)
	}
	return wheels
}

func TestMain(m *testing.M) {
	code := m.Run()
	if wheelDir != "" {
		os.RemoveAll(wheelDir)
	}
	os.Exit(code)
}

// wheel is an opened wheel: its entries in order, by name.
type wheel struct {
	names []string
	files map[string]*zip.File
}

func openWheel(t *testing.T, path string) *wheel {
	t.Helper()
	z, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Close() })
	w := &wheel{files: map[string]*zip.File{}}
	for _, f := range z.File {
		w.names = append(w.names, f.Name)
		w.files[f.Name] = f
	}
	return w
}

func (w *wheel) read(t *testing.T, name string) []byte {
	t.Helper()
	f, ok := w.files[name]
	if !ok {
		t.Fatalf("the wheel has no %s; it has %v", name, w.names)
	}
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// headers parses RFC 822 style metadata (METADATA, WHEEL) up to the body.
func headers(data []byte) map[string][]string {
	h := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() && sc.Text() != "" {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		h[k] = append(h[k], v)
	}
	return h
}

// wheelName is PEP 427's file name: name-version-python-abi-platform.whl.
var wheelName = regexp.MustCompile(`^pyprof-([^-]+)-py3-none-([^-]+)\.whl$`)

// TestWheels checks each wheel as an installer would: its name, tags and
// metadata agree, RECORD lists every file with its hash and size, the
// executable is a static ELF executable of the wheel's platform whose
// version is the wheel's, and the Python package is this folder's.
func TestWheels(t *testing.T) {
	for _, p := range platforms {
		t.Run(p.Name(), func(t *testing.T) {
			path := builtWheels(t)[p.Name()]
			m := wheelName.FindStringSubmatch(filepath.Base(path))
			if m == nil {
				t.Fatalf("%s is not named as PEP 427 says", filepath.Base(path))
			}
			v, platformTags := m[1], strings.Split(m[2], ".")
			w := openWheel(t, path)
			checkMetadata(t, w, v)
			checkTags(t, w, v, platformTags, p)
			checkRecord(t, w, v)
			checkExecutableOf(t, w, v, p)
			checkPackage(t, w)
		})
	}
}

func checkMetadata(t *testing.T, w *wheel, v string) {
	t.Helper()
	meta := headers(w.read(t, DistInfo(v)+"/METADATA"))
	for _, tc := range []struct{ field, want string }{
		{"Metadata-Version", "2.1"},
		{"Name", "pyprof"},
		{"Version", v},
		{"Requires-Python", ">=3.12"},
	} {
		if got := meta[tc.field]; len(got) != 1 || got[0] != tc.want {
			t.Errorf("METADATA %s: %q, want %q", tc.field, got, tc.want)
		}
	}
	for _, field := range []string{"Summary", "License", "Project-URL", "Home-page"} {
		if len(meta[field]) == 0 || meta[field][0] == "" {
			t.Errorf("METADATA has no %s", field)
		}
	}
}

func checkTags(t *testing.T, w *wheel, v string, platformTags []string, p Platform) {
	t.Helper()
	meta := headers(w.read(t, DistInfo(v)+"/WHEEL"))
	var want []string
	for _, tag := range platformTags {
		want = append(want, "py3-none-"+tag)
		if !strings.HasSuffix(tag, "_"+p.Machine) || !strings.HasPrefix(tag, "manylinux") {
			t.Errorf("platform tag %s is not a manylinux tag for %s", tag, p.Machine)
		}
	}
	if got := meta["Tag"]; !slices.Equal(got, want) {
		t.Errorf("WHEEL tags %q, want %q from the file name", got, want)
	}
	if got := meta["Root-Is-Purelib"]; !slices.Equal(got, []string{"false"}) {
		t.Errorf("WHEEL Root-Is-Purelib %q, want false: the wheel holds an executable", got)
	}
}

// checkRecord checks RECORD as pip does when it installs: every file is
// listed once with its sha256 and size, RECORD itself without, and the
// metadata folder comes last.
func checkRecord(t *testing.T, w *wheel, v string) {
	t.Helper()
	info := DistInfo(v)
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(w.read(t, info+"/RECORD")), "\n"), "\n") {
		fields := strings.Split(line, ",")
		if len(fields) != 3 {
			t.Errorf("RECORD line %q: want path,hash,size", line)
			continue
		}
		name := fields[0]
		if listed[name] {
			t.Errorf("RECORD lists %s twice", name)
		}
		listed[name] = true
		if name == info+"/RECORD" {
			if fields[1] != "" || fields[2] != "" {
				t.Errorf("RECORD lists itself with a hash: %q", line)
			}
			continue
		}
		data := w.read(t, name)
		sum := sha256.Sum256(data)
		if want := "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]); fields[1] != want {
			t.Errorf("RECORD hash of %s is %s, the file's is %s", name, fields[1], want)
		}
		if fields[2] != strconv.Itoa(len(data)) {
			t.Errorf("RECORD size of %s is %s, the file has %d bytes", name, fields[2], len(data))
		}
	}
	for i, name := range w.names {
		if !listed[name] {
			t.Errorf("%s is not in RECORD", name)
		}
		if strings.HasPrefix(name, info+"/") != (i >= len(w.names)-3) {
			t.Errorf("entry %d, %s: the metadata folder's three files must come last", i, name)
		}
	}
}

func checkExecutableOf(t *testing.T, w *wheel, v string, p Platform) {
	t.Helper()
	name := fmt.Sprintf("pyprof-%s.data/scripts/pyprof", v)
	if mode := w.files[name].Mode(); mode.Perm() != 0o755 {
		t.Errorf("%s has mode %v, want 0755: installers make it executable from it", name, mode)
	}
	exe := w.read(t, name)
	f, err := elf.NewFile(bytes.NewReader(exe))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if f.Machine != p.ELF {
		t.Errorf("%s is for %v, want %v", name, f.Machine, p.ELF)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", name)
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(exe))
	if err != nil {
		t.Fatal(err)
	}
	if got := version.FromBuild(bi); got != v {
		t.Errorf("the executable's version is %s, the wheel's %s", got, v)
	}
}

func checkPackage(t *testing.T, w *wheel) {
	t.Helper()
	sources, err := filepath.Glob("pyprof/*.py")
	if err != nil || len(sources) == 0 {
		t.Fatalf("no Python sources in pyprof/: %v", err)
	}
	for _, src := range sources {
		want, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.read(t, filepath.ToSlash(src)); !bytes.Equal(got, want) {
			t.Errorf("the wheel's %s differs from the source", src)
		}
	}
}

// TestOlderWheelsRemoved: a build removes the wheels of its platform that
// earlier builds left in the folder, and nothing else.
func TestOlderWheelsRemoved(t *testing.T) {
	amd64, arm64 := platforms[0], platforms[1]
	for _, tc := range []struct {
		name string
		file string
		gone bool
	}{
		{"older version, same platform", amd64.WheelName("0.0.9"), true},
		{"local version, same platform", amd64.WheelName("0.1.0+g1a2b3c4d5e6f.dirty"), true},
		{"the wheel just built", amd64.WheelName("0.1.0"), false},
		{"other platform", arm64.WheelName("0.0.9"), false},
		{"another project's wheel", "pyprofx-0.0.9-py3-none-any.whl", false},
		{"not a wheel", "pyprof-notes.txt", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keep := filepath.Join(dir, amd64.WheelName("0.1.0"))
			path := filepath.Join(dir, tc.file)
			for _, f := range []string{keep, path} {
				if err := os.WriteFile(f, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := removeOlderWheels(dir, amd64, keep); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(path)
			if gone := os.IsNotExist(err); gone != tc.gone {
				t.Errorf("%s: removed %v, want %v", tc.file, gone, tc.gone)
			}
		})
	}
}

// hostPlatform is the wheel this machine installs.
func hostPlatform(t *testing.T) Platform {
	t.Helper()
	p, err := PlatformNamed("linux-" + runtime.GOARCH)
	if err != nil {
		t.Skipf("no wheel for this machine: %v", err)
	}
	return p
}

// TestInstalledWheel installs the wheel into a fresh virtual environment of
// every Python 3.12+ here, offline, and uses it with nothing but the
// environment on PATH (no Go, no C compiler) and an empty cache: pyprof
// record and python -m pyprof record count every call, pyprof.profile()
// records a region's calls and nothing else, the API's other behaviours
// hold, and pip uninstall leaves nothing behind.
func TestInstalledWheel(t *testing.T) {
	whl := builtWheels(t)[hostPlatform(t).Name()]
	if _, err := testpython.Provide314(); err != nil {
		t.Logf("no Python 3.14: %v", err)
	}
	pythons := agent.All()
	if len(pythons) == 0 {
		t.Fatal("no Python 3.12+ found")
	}
	for _, py := range pythons {
		t.Run(py.VersionString(), func(t *testing.T) {
			env := newVenv(t, py, pythons)
			env.install(t, whl)
			t.Run("record", func(t *testing.T) { env.checkRecord(t, env.bin("pyprof")) })
			t.Run("python -m pyprof record", func(t *testing.T) { env.checkRecord(t, env.bin("python"), "-m", "pyprof") })
			t.Run("python -m pyprof record picks its Python", env.checkOwnPython)
			t.Run("profile()", env.checkRegion)
			t.Run("API behaviours", env.checkBehaviours)
			t.Run("README's middleware", env.checkMiddleware)
			t.Run("profile() under pyprof record", env.checkUnderRecord)
			t.Run("pip install --target", func(t *testing.T) { env.checkTarget(t, whl) })
			t.Run("pyprof's process stopped", env.checkSilent)
			t.Run("uninstall", env.checkUninstall)
		})
	}
}

// venv is a virtual environment with the wheel installed, and what runs
// there: PATH holds its bin folder only, HOME and the cache are empty.
type venv struct {
	dir  string
	pip  []string // the pip that installs into it
	env  []string
	work string
}

func newVenv(t *testing.T, py *agent.Interpreter, pythons []*agent.Interpreter) *venv {
	t.Helper()
	root := t.TempDir()
	v := &venv{dir: filepath.Join(root, "venv"), work: filepath.Join(root, "work")}
	if err := os.Mkdir(v.work, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(root, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	v.env = []string{"PATH=" + filepath.Join(v.dir, "bin"), "HOME=" + home, "LANG=C.UTF-8"}
	v.pip = pipFor(t, py, pythons, v.dir)
	for _, tool := range []string{"go", "cc", "gcc", "clang"} {
		if _, err := os.Stat(filepath.Join(v.dir, "bin", tool)); err == nil {
			t.Fatalf("%s is on the environment's PATH", tool)
		}
	}
	return v
}

// pipFor makes the virtual environment at dir with py and returns the pip
// that installs into it: its own, where py's ensurepip has pip to give;
// else another Python's pip aimed at it (pip --python), as with a 3.14
// that comes without ensurepip's wheel.
func pipFor(t *testing.T, py *agent.Interpreter, pythons []*agent.Interpreter, dir string) []string {
	t.Helper()
	if out, err := exec.Command(py.Executable, "-m", "venv", dir).CombinedOutput(); err == nil {
		return []string{filepath.Join(dir, "bin", "python"), "-m", "pip"}
	} else {
		t.Logf("%s -m venv with pip failed (%v): %s", py.Executable, err, lastLine(out))
	}
	os.RemoveAll(dir)
	if out, err := exec.Command(py.Executable, "-m", "venv", "--without-pip", dir).CombinedOutput(); err != nil {
		t.Fatalf("%s -m venv: %v: %s", py.Executable, err, out)
	}
	for _, other := range pythons {
		if exec.Command(other.Executable, "-m", "pip", "--version").Run() == nil {
			t.Logf("installing with %s's pip", other.Executable)
			return []string{other.Executable, "-m", "pip", "--python", filepath.Join(dir, "bin", "python")}
		}
	}
	t.Skipf("%s's venv has no pip and no other Python here has one", py.Executable)
	return nil
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

func (v *venv) bin(name string) string { return filepath.Join(v.dir, "bin", name) }

// run runs a command in the environment, in its work folder.
func (v *venv) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = v.work, v.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (v *venv) pipRun(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(v.pip[0], append(slices.Clone(v.pip[1:]), args...)...)
	cmd.Env = append(os.Environ(), "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_CACHE_DIR=1", "PIP_NO_INPUT=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (v *venv) install(t *testing.T, whl string) {
	t.Helper()
	v.pipRun(t, "install", "--no-index", whl)
}

func (v *venv) testdata(t *testing.T, name string) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// readProfile reads a profile the installed pyprof wrote.
func readProfile(t *testing.T, path string) *callgraph.Profile {
	t.Helper()
	p, err := export.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// functionCalls adds up the calls of every function, by name.
func functionCalls(p *callgraph.Profile) map[string]int64 {
	calls := map[string]int64{}
	for _, th := range p.Threads {
		th.Root.Walk(func(path []*callgraph.Node) {
			n := path[len(path)-1]
			calls[p.Funcs[n.Func].Name] += n.Total[callgraph.Calls]
		})
	}
	return calls
}

func (v *venv) checkRecord(t *testing.T, pyprof ...string) {
	out := filepath.Join(v.work, strings.ReplaceAll(t.Name(), "/", "_")+".pb.gz")
	args := append(slices.Clone(pyprof), "record", "-q", "-o", out, "--", v.bin("python"), v.testdata(t, "calls.py"))
	v.run(t, args...)
	calls := functionCalls(readProfile(t, out))
	for name, want := range map[string]int64{"__main__.leaf": 45, "__main__.mid": 10, "__main__.main": 1} {
		if calls[name] != want {
			t.Errorf("%s: %d calls, want %d", name, calls[name], want)
		}
	}
}

// checkOwnPython: python -m pyprof record, with no interpreter named,
// records the program under the Python that ran it, the environment's, even
// with the environment's bin folder off PATH (where pyprof would otherwise
// find the newest Python on the machine).
func (v *venv) checkOwnPython(t *testing.T) {
	out := filepath.Join(v.work, "own.pb.gz")
	cmd := exec.Command(v.bin("python"), "-m", "pyprof", "record", "-q", "-o", out, v.testdata(t, "calls.py"))
	cmd.Dir = v.work
	cmd.Env = append(slices.DeleteFunc(slices.Clone(v.env), func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }),
		"PATH="+os.Getenv("PATH"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, b)
	}
	want := "(" + v.bin("python") + ")"
	for _, c := range readProfile(t, out).Comments {
		if strings.HasPrefix(c, "python: ") {
			if !strings.Contains(c, want) {
				t.Errorf("recorded with %q, want the environment's Python %s", c, want)
			}
			return
		}
	}
	t.Error("the profile names no Python")
}

func (v *venv) checkRegion(t *testing.T) {
	out := filepath.Join(v.work, "region.pb.gz")
	v.run(t, v.bin("python"), v.testdata(t, "region.py"), out, filepath.Join(v.work, "region.svg"))
	p := readProfile(t, out)
	calls := functionCalls(p)
	for name, want := range map[string]int64{"__main__.leaf": 107, "__main__.work": 2, "__main__.worker": 1, "__main__.handle": 1, "__main__.serve": 1, "__main__.outside": 0} {
		if calls[name] != want {
			t.Errorf("%s: %d calls in the region, want %d", name, calls[name], want)
		}
	}
	threads := map[string][]string{}
	for _, th := range p.Threads {
		for _, root := range th.Root.Children {
			threads[th.Name] = append(threads[th.Name], p.Funcs[root.Func].Name)
		}
	}
	if roots := threads["MainThread"]; !slices.Equal(roots, []string{"__main__.serve"}) {
		t.Errorf("the main thread's roots are %v, want the function whose code began the region, __main__.serve", roots)
	}
	if _, ok := threads["region-worker"]; !ok || len(threads) != 2 {
		t.Errorf("threads %v: want MainThread and region-worker", threads)
	}
	for _, f := range p.Funcs {
		if strings.Contains(f.Filename, string(filepath.Separator)+"pyprof"+string(filepath.Separator)) {
			t.Errorf("the profile shows pyprof's own %s (%s)", f.Name, f.Filename)
		}
		// region.py never uses json; pyprof talks to its process in it.
		if strings.HasPrefix(f.Name, "json.") {
			t.Errorf("the profile shows %s, which pyprof called to talk to its process", f.Name)
		}
	}
	if info, err := os.Stat(filepath.Join(v.work, "region.svg")); err != nil || info.Size() == 0 {
		t.Errorf("the second output, region.svg, was not written: %v", err)
	}
}

func (v *venv) checkBehaviours(t *testing.T) {
	out := v.run(t, v.bin("python"), v.testdata(t, "behaviours.py"), t.TempDir())
	for _, want := range []string{"nested", "concurrent", "tool id taken", "bad output", "bad options", "no output", "names", "write again", "failed write", "sample mode", "sample mode with many threads", "consumer silent", "consumer dies"} {
		if !strings.Contains(out, "ok "+want+"\n") {
			t.Errorf("behaviours.py did not say ok %s:\n%s", want, out)
		}
	}
}

// checkMiddleware serves requests through README's WSGI middleware, the
// code as README shows it: only another region recording skips a
// request's profile, an output folder that is missing is an error, the
// app's response is closed, and a profile that cannot be written is
// logged while the request is served.
func (v *venv) checkMiddleware(t *testing.T) {
	example := filepath.Join(t.TempDir(), "middleware_example.py")
	if err := os.WriteFile(example, []byte(readmeExample(t, "class ProfileSomeRequests")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := v.run(t, v.bin("python"), v.testdata(t, "middleware.py"), example, t.TempDir())
	for _, want := range []string{"profiled", "another recording", "missing folder", "write fails"} {
		if !strings.Contains(out, "ok "+want+"\n") {
			t.Errorf("middleware.py did not say ok %s:\n%s", want, out)
		}
	}
}

// readmeExample is the Python code block of README that holds marker.
func readmeExample(t *testing.T, marker string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range strings.Split(string(readme), "```python\n")[1:] {
		code, _, _ := strings.Cut(block, "```")
		if strings.Contains(code, marker) {
			return code
		}
	}
	t.Fatalf("README has no Python example with %q", marker)
	return ""
}

// checkUnderRecord runs a program that starts a region under pyprof
// record, which traces the whole process already: the region is refused
// with a message that says so, and the recording goes on.
func (v *venv) checkUnderRecord(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.folded")
	out := v.run(t, v.bin("pyprof"), "record", "-q", "-o", whole, "--", v.bin("python"), v.testdata(t, "recorded.py"), filepath.Join(dir, "region.folded"))
	if !strings.Contains(out, "ok recorded\n") {
		t.Errorf("recorded.py did not say ok recorded:\n%s", out)
	}
	if _, err := os.Stat(whole); err != nil {
		t.Errorf("pyprof record wrote no profile: %v", err)
	}
}

// checkTarget installs the wheel with pip install --target DIR, which
// moves the scripts to DIR/bin after writing RECORD (whose path to the
// executable then leads outside DIR), plants an executable where that
// path leads, and checks that the package runs its own executable only,
// and refuses one whose version is not the package's.
func (v *venv) checkTarget(t *testing.T, whl string) {
	root := t.TempDir()
	target := filepath.Join(root, "a", "b", "site")
	v.pipRun(t, "install", "--no-index", "--target", target, whl)
	records, _ := filepath.Glob(filepath.Join(target, "pyprof-*.dist-info", "RECORD"))
	if len(records) != 1 {
		t.Fatalf("%d RECORDs in %s, want 1", len(records), target)
	}
	record, err := os.ReadFile(records[0])
	if err != nil {
		t.Fatal(err)
	}
	var recorded string
	for _, line := range strings.Split(string(record), "\n") {
		if name, _, _ := strings.Cut(line, ","); strings.HasSuffix(name, "bin/pyprof") {
			recorded = name
		}
	}
	planted := filepath.Join(target, recorded)
	marker := filepath.Join(root, "planted-ran")
	if recorded == "" || strings.HasPrefix(planted, target+string(filepath.Separator)) {
		t.Fatalf("RECORD's executable %q leads to %s, inside the target: nothing to plant", recorded, planted)
	}
	python := func(expect string) string {
		t.Helper()
		cmd := exec.Command(v.bin("python"), v.testdata(t, "target.py"), filepath.Join(root, expect+".folded"), expect)
		cmd.Dir, cmd.Env = v.work, append(slices.Clone(v.env), "PYTHONPATH="+target)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("target.py %s: %v\n%s", expect, err, out)
		}
		return string(out)
	}
	// Nothing where RECORD's path leads, as after any such install: the
	// Python 3.12+ metadata API leaves that entry out of a distribution's
	// files, and the package once found no executable at all.
	if out := python("works"); !strings.Contains(out, "ok target\n") {
		t.Errorf("target.py, nothing planted, did not say ok target:\n%s", out)
	}
	if err := os.MkdirAll(filepath.Dir(planted), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planted, []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out := python("works"); !strings.Contains(out, "ok target\n") {
		t.Errorf("target.py did not say ok target:\n%s", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the executable planted at %s ran", planted)
	}
	metadata, _ := filepath.Glob(filepath.Join(target, "pyprof-*.dist-info", "METADATA"))
	data, err := os.ReadFile(metadata[0])
	if err != nil {
		t.Fatal(err)
	}
	other := regexp.MustCompile(`(?m)^Version: .*$`).ReplaceAll(data, []byte("Version: 0.0.1"))
	if err := os.WriteFile(metadata[0], other, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := python("mismatch"); !strings.Contains(out, "ok version mismatch\n") {
		t.Errorf("target.py did not say ok version mismatch:\n%s", out)
	}
}

// checkSilent stops pyprof's process (SIGSTOP) at a region's start, then
// during one (a process each: trace mode does not come back after): the
// program gets a ProfilerError within seconds and runs on. It also checks
// that pyprof's process holds neither the program's stderr nor its
// working folder.
func (v *venv) checkSilent(t *testing.T) {
	for _, when := range []string{"start", "stop"} {
		out := v.run(t, v.bin("python"), v.testdata(t, "silent.py"), t.TempDir(), when)
		for _, want := range []string{"detached", "stopped at " + when} {
			if !strings.Contains(out, "ok "+want+"\n") {
				t.Errorf("silent.py %s did not say ok %s:\n%s", when, want, out)
			}
		}
	}
}

// checkUninstall removes the wheel and checks that every file the install
// recorded is gone, and nothing named pyprof is left.
func (v *venv) checkUninstall(t *testing.T) {
	site := strings.TrimSpace(v.run(t, v.bin("python"), "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"))
	records, _ := filepath.Glob(filepath.Join(site, "pyprof-*.dist-info", "RECORD"))
	if len(records) != 1 {
		t.Fatalf("%d installed RECORDs in %s, want 1", len(records), site)
	}
	record, err := os.ReadFile(records[0])
	if err != nil {
		t.Fatal(err)
	}
	v.pipRun(t, "uninstall", "-y", "pyprof")
	for _, line := range strings.Split(strings.TrimSpace(string(record)), "\n") {
		name, _, _ := strings.Cut(line, ",")
		if _, err := os.Lstat(filepath.Join(site, name)); err == nil {
			t.Errorf("%s is left after uninstalling", name)
		}
	}
	for _, dir := range []string{site, filepath.Join(v.dir, "bin")} {
		left, _ := filepath.Glob(filepath.Join(dir, "pyprof*"))
		if len(left) > 0 {
			t.Errorf("left after uninstalling: %v", left)
		}
	}
}
