package profiler

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pyprof/pyprof/profiler/agent"
)

// Which interpreter runs the program, and under which name.

// ResolveInterpreter finds and checks the interpreter to run.
func ResolveInterpreter(o *Options) (*agent.Interpreter, error) {
	name := o.Python
	if name == "" {
		name = o.Target.Interpreter
	}
	if name == "" {
		i, err := agent.Discover()
		if err != nil {
			return nil, environment(err)
		}
		o.info(fmt.Sprintf("using %s (Python %s)", i.Path, i.VersionString()))
		return i, nil
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, environment(fmt.Errorf("interpreter %s not found: pass --python PATH or name a python3.12+ on PATH", name))
	}
	i, err := agent.Identify(path)
	if err != nil && outOfFiles(err) {
		return nil, startError(name, err)
	}
	if err != nil {
		said := ""
		if _, reason, ok := strings.Cut(err.Error(), "(it said: "); ok {
			said = " (it said: " + reason
		}
		return nil, environment(fmt.Errorf("%s does not run as a Python interpreter%s: %s", name, said, nameAWorkingOne()))
	}
	if !i.Supported() {
		return nil, environment(fmt.Errorf("%s is Python %s: pyprof records CPython 3.12 or newer in every mode (tracing needs their sys.monitoring, sampling reads their interpreter's layout): %s", name, i.VersionString(), nameAWorkingOne()))
	}
	return i, nil
}

// nameAWorkingOne says what to run instead of an interpreter pyprof
// refused: one that discovery finds working here, else what to look for.
// Only a refusal pays for the discovery.
func nameAWorkingOne() string {
	if i, err := agent.Discover(); err == nil {
		return fmt.Sprintf("name one that is, for example `pyprof record -- %s ...` (Python %s, found here), or pass --python PATH", i.Path, i.VersionString())
	}
	return "name a CPython 3.12 or newer, for example `pyprof record -- python3.12 ...`, or pass --python PATH"
}

// interpreterCommand runs the interpreter with args, under the name a shell
// would give it (see argv0).
func (o *Options) interpreterCommand(i *agent.Interpreter, args []string) *exec.Cmd {
	cmd := exec.Command(i.RunPath(), args...)
	cmd.Args[0] = o.argv0(i)
	return cmd
}

// argv0 is the name the interpreter starts under, as a shell would start
// it: the word typed for it (python3.12, --python's path), which the
// program sees in sys.orig_argv and from which Python finds
// sys.executable, as pyprof did, on PATH. An interpreter a pyenv shim
// picked starts under its path, as the shim starts it, and so does one
// pyprof found itself.
func (o *Options) argv0(i *agent.Interpreter) string {
	switch {
	case i.Launch != nil:
		return i.Launch.Path
	case o.Python != "":
		return o.Python
	case o.Target.Interpreter != "":
		return o.Target.Interpreter
	}
	return i.Path
}

// startError is the environment error of an interpreter pyprof could not
// start; one out of file descriptors says which limit to raise.
func startError(name string, err error) error {
	if outOfFiles(err) {
		var lim unix.Rlimit
		_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
		return environment(fmt.Errorf("cannot start %s: too many open files (ulimit -n is %d, and pyprof needs some of its own beside the program's): raise the limit", name, lim.Cur))
	}
	return environment(fmt.Errorf("starting %s: %w", name, err))
}

// outOfFiles tells an error of a process out of file descriptors (EMFILE,
// or the system's ENFILE), wrapped or only quoted by a message.
func outOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		strings.Contains(err.Error(), syscall.EMFILE.Error()) || strings.Contains(err.Error(), syscall.ENFILE.Error())
}
