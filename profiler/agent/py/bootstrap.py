"""pyprof's start-up code, run by the target interpreter in place of the program.

pyprof starts `python [its options] bootstrap.py KIND TARGET ARGS...` where KIND
is script, module or code. This file loads the agent, claims the
sys.monitoring tool id, registers the callbacks, turns events on and runs the
program as the interpreter itself would have. Its frames, and runpy's, are
marked hidden so profiles start at the program's <module>.

Configuration comes in the environment variable PYPROF_AGENT (removed before
the program runs, so the program and its children never see it).

The program must start as cold as it would without pyprof: at its first line
sys.modules holds what the interpreter imported for it (and, for -m or a
folder, runpy, which the interpreter imports to run it) plus the agent, and
no cache the program's calls use is warmer. So this file imports nothing
that is not imported already at start-up (sys, posix, _io, _thread, the
frozen importlib) and patches nothing the program can see: threads are
named from an audit hook and a sys.monitoring event on pyprof's own tool id,
execs are noted from the audit hook.

With record --subprocesses (PYPROF_AGENT has site=DIR), children are
followed: a forked child gets rings of its own (_follow_forks), and a new
interpreter finds pyprof's sitecustomize.py first on PYTHONPATH, which calls
follow_exec below with the recording described in PYPROF_CHILD. Both
variables stay in the environment, so grandchildren are followed too.
"""

import _io
import _thread
import posix
import sys

# The script the interpreter ran in place of the program (start.py, which
# runs this file's code in its own namespace, or this file itself), and
# this file, whose frames are pyprof's too.
_BOOTSTRAP_FILE = __file__
_CODE_FILE = sys._getframe(0).f_code.co_filename
_IMPORTLIB = sys.modules["_frozen_importlib"]
_IMPORTLIB_EXTERNAL = sys.modules["_frozen_importlib_external"]
_TOOL_TAKEN = 3  # PYPROF_STATUS_TOOL_TAKEN in wire.h
_ERROR = 2  # PYPROF_STATUS_ERROR
_BAD_PROGRAM = 4  # PYPROF_STATUS_BAD_PROGRAM
_WRONG_PYTHON = 5  # PYPROF_STATUS_WRONG_PYTHON
# Header offsets of wire.h, for failing before any agent is loaded
# (TestBootstrapConstants checks them against wire.h).
_HDR_STATUS = 36
_HDR_ERROR = 1024
_EXIT_AGENT_FAILED = 121  # seen by pyprof only; it reports the header's message


# The interpreter's own spelling of paths and environment bytes.
_FS_ENCODING = sys.getfilesystemencoding()
_FS_ERRORS = sys.getfilesystemencodeerrors()


def _fields(value):
    return dict(kv.split("=", 1) for kv in value.split(";") if kv)


def _getenv(name):
    value = posix.environ.get(name.encode(_FS_ENCODING, _FS_ERRORS))
    return None if value is None else value.decode(_FS_ENCODING, _FS_ERRORS)


def _setenv(name, value):
    # os.environ, once imported, keeps posix.environ as its own data: one
    # change serves both, and the program's children see it.
    posix.putenv(name, value)
    posix.environ[name.encode(_FS_ENCODING, _FS_ERRORS)] = value.encode(_FS_ENCODING, _FS_ERRORS)


def _unsetenv(name):
    posix.unsetenv(name)
    posix.environ.pop(name.encode(_FS_ENCODING, _FS_ERRORS), None)


def _config():
    config = _fields(_getenv("PYPROF_AGENT"))
    _unsetenv("PYPROF_AGENT")
    return config


def _load_agent(path):
    """Loads the agent with the frozen importlib the interpreter started
    with: importlib.machinery and importlib.util would be imported for it."""
    if path.endswith(".py"):
        loader = _IMPORTLIB_EXTERNAL.SourceFileLoader("_pyprof_agent", path)
    else:
        loader = _IMPORTLIB_EXTERNAL.ExtensionFileLoader("_pyprof_agent", path)
    spec = _IMPORTLIB_EXTERNAL.spec_from_file_location("_pyprof_agent", path, loader=loader)
    module = _IMPORTLIB.module_from_spec(spec)
    if path.endswith(".py"):
        exec(_own_bytecode(loader, path), module.__dict__)
    else:
        loader.exec_module(module)
    return module


def _own_bytecode(loader, path):
    """The code of pyprof's own module at path, from the bytecode cached
    in pyprof's private folder, as start.py reads the bootstrap's: cached
    even where the program's is not, never under the program's cache
    prefix, and compiled anew when a write that ran out of disk cut it."""
    programs = sys.dont_write_bytecode, sys.pycache_prefix
    sys.dont_write_bytecode, sys.pycache_prefix = False, None
    try:
        try:
            return loader.get_code(loader.name)
        except (EOFError, ValueError, TypeError):
            try:
                posix.unlink(_IMPORTLIB_EXTERNAL.cache_from_source(path))
            except OSError:
                pass
            return loader.get_code(loader.name)
    finally:
        sys.dont_write_bytecode, sys.pycache_prefix = programs


def _runpy_files():
    """runpy's file names, frozen (3.12+) or not, without importing it."""
    return {"<frozen runpy>", _join(sys._stdlib_dir, "runpy.py")}


def _join(folder, name):
    return folder + name if folder.endswith("/") else folder + "/" + name


def _dirname(path):
    """posixpath.dirname, which may not be imported yet."""
    head = path[: path.rfind("/") + 1]
    return head.rstrip("/") or head


_EVENTS = (
    ("PY_START", "py_start"),
    ("PY_RESUME", "py_resume"),
    ("PY_THROW", "py_throw"),
    ("PY_RETURN", "py_return"),
    ("PY_YIELD", "py_yield"),
    ("PY_UNWIND", "py_unwind"),
    ("CALL", "call"),
    ("C_RETURN", "c_return"),
    ("C_RAISE", "c_raise"),
)


# The events of calls of native callables: record --native-calls=false
# leaves them out (CALL fires for Python calls too, and costs most).
_NATIVE_EVENTS = ("CALL", "C_RETURN", "C_RAISE")


def _claim(agent, tool_id, null, native):
    """Takes the tool id and registers the callbacks; returns the event set."""
    monitoring = sys.monitoring
    owner = monitoring.get_tool(tool_id)
    if owner is not None:
        agent.fail(_TOOL_TAKEN, f"sys.monitoring tool id {tool_id} is already used by {owner!r}")
        posix._exit(_EXIT_AGENT_FAILED)
    monitoring.use_tool_id(tool_id, "pyprof")
    return _register(agent, tool_id, null, native)


def _register(agent, tool_id, null, native):
    """Registers the agent's callbacks; returns the event set."""
    monitoring = sys.monitoring
    events = 0
    for event_name, callback in _EVENTS:
        if not native and event_name in _NATIVE_EVENTS:
            continue
        event = getattr(monitoring.events, event_name)
        monitoring.register_callback(tool_id, event, agent.null if null else getattr(agent, callback))
        events |= event
    if not native and not null:
        # Call sites come from CALL events; without them, from the caller's
        # frame (or none, where the agent cannot read frames).
        agent.frame_sites(True)
    return events


def _release(tool_id):
    """Frees the tool id in the order that really frees it on 3.12 and 3.13:
    free_tool_id alone leaves events and callbacks in place there,
    so a later cProfile.enable() would succeed and silently lose its callbacks."""
    monitoring = sys.monitoring
    if monitoring.get_tool(tool_id) != "pyprof":
        return
    monitoring.set_events(tool_id, 0)
    for code in _THREAD_CODES:
        monitoring.set_local_events(tool_id, code, 0)
    for event_name in [name for name, _ in _EVENTS] + ["LINE"]:
        monitoring.register_callback(tool_id, getattr(monitoring.events, event_name), None)
    monitoring.free_tool_id(tool_id)


def _explain_taken_id(tool_id):
    """Makes the program's own claim on pyprof's tool id (cProfile.enable,
    a profiler of its own) fail with a message that names pyprof and the
    way out, instead of "Another profiling tool is already active"."""
    monitoring = sys.monitoring
    use_tool_id = monitoring.use_tool_id

    def checked_use_tool_id(tool, name, /):
        if tool == tool_id and monitoring.get_tool(tool_id) == "pyprof":
            message = (
                f"the program asked for sys.monitoring tool id {tool_id} for {name!r}, but pyprof is using it; "
                f"run pyprof with --tool-id N (a free id from 0 to 5) to leave it to the program"
            )
            # cProfile replaces any error raised here with its own vague
            # one, so say it on stderr too.
            print("pyprof:", message, file=sys.stderr)
            raise ValueError(message)
        return use_tool_id(tool, name)

    monitoring.use_tool_id = checked_use_tool_id


def _keep_tool_id(tool_id, note=None):
    """Keeps the program from changing pyprof's events and callbacks, which
    would stop the recording or lose its returns: on pyprof's tool id, the
    program's calls do what they do on an id it never claimed
    (set_events and set_local_events raise ValueError; register_callback
    and free_tool_id change nothing pyprof uses). pyprof's own calls, from
    this file, pass. note, when given, tells pyprof of the first of each."""
    monitoring = sys.monitoring
    get_tool = monitoring.get_tool
    callbacks = {}  # the program's own, kept as Python keeps them for an unused id

    def refuse(*_):
        raise ValueError(
            f"sys.monitoring tool id {tool_id} is pyprof's: "
            f"run pyprof with --tool-id N (a free id from 0 to 5) to leave it to the program"
        )

    def register(event, func):
        previous = callbacks.get(event)
        callbacks[event] = func
        return previous

    def free(*_):
        callbacks.clear()

    def guard(name, instead):
        original = getattr(monitoring, name)
        noted = False

        def guarded(tool, *args):
            nonlocal noted
            if tool != tool_id or get_tool(tool_id) != "pyprof" or sys._getframe(1).f_code.co_filename == _CODE_FILE:
                return original(tool, *args)
            if note and not noted:
                noted = True
                note(f"monitoring {name}")
            return instead(*args)

        setattr(monitoring, name, guarded)

    guard("set_events", refuse)
    guard("set_local_events", refuse)
    guard("register_callback", register)
    guard("free_tool_id", free)
    if hasattr(monitoring, "clear_tool_id"):  # 3.14
        guard("clear_tool_id", free)


def _notes_to_pyprof(config):
    """Returns a function that tells pyprof, on the pipe it passed as fd
    config["notes"], one line of what the program did that the profile
    cannot show, or None without that pipe. The pipe closes on exec and
    never blocks the program; a note is dropped from a forked child, or
    once the fd is no longer that pipe (a program that closed its fds and
    opened another file under the number)."""
    if "notes" not in config:
        return None
    import time  # built in, imported at start-up

    fd = int(config["notes"])
    posix.set_inheritable(fd, False)
    posix.set_blocking(fd, False)
    pipe = posix.fstat(fd)
    program = posix.getpid()

    def note(text):
        if posix.getpid() != program:
            return
        try:
            now = posix.fstat(fd)
            if (now.st_dev, now.st_ino) == (pipe.st_dev, pipe.st_ino):
                posix.write(fd, f"{time.monotonic_ns()} {text}\n".encode())
        except OSError:
            pass

    return note


# The audit events of a thread about to start: their first argument is
# the function it will run, a Thread's bound _bootstrap for threading's.
_THREAD_START_EVENTS = ("_thread.start_new_thread", "_thread.start_joinable_thread")

# The code objects of Thread._bootstrap_inner (a subclass may have its
# own) whose LINE events pyprof watches to name threads.
_THREAD_CODES = set()


def _name_threads(agent, tool_id):
    """Records each threading.Thread's name in its own thread as it
    starts; threading knows the name, the agent does not. threading is
    neither imported nor patched for it: once the program starts a Thread
    (watched from an audit hook), LINE events of its _bootstrap_inner are
    turned on, on pyprof's tool id only; the first line of each frame names
    its thread, and every other line disables itself. Returns the audit
    handler of thread starts."""
    monitoring = sys.monitoring
    first_lines = {}

    def on_line(code, line):
        # A monitoring callback: no events of its own reach the agent.
        if first_lines.setdefault(code, line) != line:
            return monitoring.DISABLE
        # The attribute, not the name property: a property is a call.
        name = getattr(sys._getframe(1).f_locals.get("self"), "_name", None)
        if isinstance(name, str):
            agent.set_thread_name(name)

    def thread_starting(args):
        threading = sys.modules.get("threading")
        thread = getattr(args[0], "__self__", None)
        if threading is None or not isinstance(thread, threading.Thread):
            return
        code = getattr(type(thread)._bootstrap_inner, "__code__", None)
        if code is None or code in _THREAD_CODES or monitoring.get_tool(tool_id) != "pyprof":
            return
        _THREAD_CODES.add(code)
        monitoring.set_local_events(tool_id, code, monitoring.events.LINE)

    monitoring.register_callback(tool_id, monitoring.events.LINE, on_line)
    return thread_starting


def _note_execs(note):
    """Returns the audit handler that tells pyprof when the program
    replaces itself by another program (os.execv and os.execve, which
    every os.exec* calls, raise the os.exec event): the recording ends
    there. An exec that failed is taken back at the next audit event or
    when the program ends, whichever comes first; see _watch_program."""

    def exec_starting(args):
        note("exec os.execv" if args[2] is None else "exec os.execve")

    return exec_starting


def _note_python_children(note):
    """Returns the audit handler that tells pyprof of each subprocess the
    program starts that runs Python (named python, python3, python3.N, or
    this very interpreter): without --subprocesses pyprof says how many
    ran unprofiled, and the trace sees no more of such a start than a
    native call. A command run through a shell is not looked into."""
    own = _realpath(sys.executable)

    def popen(args):
        executable, argv = args[0], args[1]
        program = executable
        if program is None and isinstance(argv, (list, tuple)) and argv:
            program = argv[0]
        if type.__dict__["__module__"].__get__(type(program)).startswith("pathlib"):
            # A pathlib path, whose __fspath__ has no side effect; any
            # other object's is the program's to call, not pyprof's.
            program = posix.fspath(program)
        if isinstance(program, bytes):
            program = program.decode(errors="replace")
        if not isinstance(program, str):
            return
        name = program.rsplit("/", 1)[-1]
        if _python_name(name) or (own and _realpath(program) == own):
            note("python-child")

    return popen


def _python_name(name):
    """Whether name is a CPython's: python, python3, python3.N, each with
    a t for a free-threaded build (re is not imported for it)."""
    if not name.startswith("python"):
        return False
    rest = name[len("python") :].removesuffix("t")
    return rest in ("", "3") or rest.startswith("3.") and rest[2:].isdigit()


def _realpath(path):
    """path with the links of its last part followed: a venv's python and
    the interpreter it links to compare equal."""
    try:
        for _ in range(40):
            try:
                target = posix.readlink(path)
            except OSError:
                return path
            path = target if target.startswith("/") else _dirname(path) + "/" + target
    except (ValueError, TypeError):
        return None
    return path


class _ProgramWatch:
    """What pyprof learns from the program's audit events: one hook,
    in this (hidden) file, that costs a lookup for other events."""

    def __init__(self, handlers, note):
        self.handlers = handlers
        self.note = note
        self.exec_pending = False

    def hook(self, event, args):
        if self.exec_pending:
            self.exec_failed()
        if event in self.handlers:
            try:
                self.handlers[event](args)
                if event == "os.exec":
                    self.exec_pending = True
            except Exception:
                pass  # an audit hook that raises would fail the program's call

    def exec_failed(self):
        # Still running after an exec: it failed.
        if self.exec_pending:
            self.exec_pending = False
            self.note("exec-failed")


def _watch_program(agent, tool_id, note=None):
    """Installs the audit hook that names threads and, given note, says
    when the program execs; returns the watch, whose exec_failed is called
    once the program is done."""
    handlers = dict.fromkeys(_THREAD_START_EVENTS, _name_threads(agent, tool_id))
    if note:
        handlers["os.exec"] = _note_execs(note)
        handlers["subprocess.Popen"] = _note_python_children(note)
    watch = _ProgramWatch(handlers, note)
    sys.addaudithook(watch.hook)
    return watch


def _guard_program(tool_id, config):
    """Keeps pyprof's tool id from the program. Returns
    sys.monitoring.set_events as it was, for turning pyprof's events
    on: a frame of the guard's would be open as they start, its return
    left without a matching call, and the notes function (or None)."""
    set_events = sys.monitoring.set_events
    note = _notes_to_pyprof(config)
    _keep_tool_id(tool_id, note)
    return set_events, note


def _thread_name_after_fork(main_ident):
    """The forking thread's name, read without importing threading (a
    program that never imported it forked from its main thread)."""
    threading = sys.modules.get("threading")
    if threading is not None:
        return threading.current_thread().name
    return "MainThread" if _thread.get_ident() == main_ident else None


def _follow_forks(agent, tool_id):
    """Makes a forked child record into rings of its own. The
    agent stops recording in the child before any Python code runs there
    (agent.c in a pthread_atfork handler, the twin in a hook registered
    before this one); agent.forked makes the rings, registers them with
    pyprof and records again. A child that cannot be followed gives the
    tool id back and runs unprofiled, as without --subprocesses."""
    main_ident = _thread.get_ident()

    def after_fork_in_child():
        try:
            # The name first: once forked returns, this frame's own events
            # are recorded, and it is hidden.
            if agent.forked(_thread_name_after_fork(main_ident)):
                return
        except ConnectionRefusedError:
            pass  # the recording is over, or pyprof refused and said why
        except Exception as e:
            print(f"pyprof: not following process {posix.getpid()}: {type(e).__name__}: {e}", file=sys.stderr)
        _release(tool_id)

    posix.register_at_fork(after_in_child=after_fork_in_child)


def _follow_children(agent, tool_id, site):
    """Follows the program's children: forked ones (_follow_forks) and new
    interpreters, which find pyprof's sitecustomize.py in site first on
    PYTHONPATH. PYPROF_CHILD, set by pyprof, describes the recording."""
    agent.follow(_fields(_getenv("PYPROF_CHILD"))["socket"])
    _follow_forks(agent, tool_id)
    path = _getenv("PYTHONPATH")
    _setenv("PYTHONPATH", site + ":" + path if path else site)


def _child_agent(config):
    """The agent for this interpreter and its path: pyprof's C agent, which
    serves every CPython 3.12+ with the GIL and refuses to load (ImportError)
    where it cannot, else the twin, which runs on any 3.12+."""
    path = config["agent"]
    if not path.endswith(".py"):
        try:
            return path, _load_agent(path)
        except ImportError:
            pass
    return config["twin"], _load_agent(config["twin"])


def follow_exec(config, site_file):
    """Records a new interpreter the program started (record --subprocesses),
    called from pyprof's sitecustomize.py with PYPROF_CHILD's fields: loads
    the agent, which registers rings of its own with pyprof, claims the tool
    id and turns events on when the program's own code starts."""
    tool_id = int(config["tool"])
    owner = sys.monitoring.get_tool(tool_id)
    if owner is not None:
        print(
            f"pyprof: not following process {posix.getpid()}: sys.monitoring tool id {tool_id} is already used by {owner!r}",
            file=sys.stderr,
        )
        return
    path, agent = _child_agent(config)
    hidden = {_BOOTSTRAP_FILE, _CODE_FILE, path, site_file, *_runpy_files()}
    agent.init_child(
        hidden,
        int(config["slots"]),
        int(config["ring"]),
        int(config["clock"]),
        int(config["consumer"]),
        config["socket"],
    )
    sys.monitoring.use_tool_id(tool_id, "pyprof")
    try:
        agent.on_orphan(lambda: _release(tool_id))
        _explain_taken_id(tool_id)
        _keep_tool_id(tool_id)
        _watch_program(agent, tool_id)
        _follow_forks(agent, tool_id)
        agent.start()
        agent.set_thread_name("MainThread")
        _record_from_program(agent, tool_id, hidden, config["mode"] == "null", config.get("native") != "0")
    except BaseException:
        agent.stop()
        _release(tool_id)
        raise


def _record_from_program(agent, tool_id, hidden, null, native):
    """Turns every event on when the program's first frame starts, so that
    its profile starts there as the program's own does (bootstrap runs it
    with events just turned on). Until then only PY_START is watched: the
    interpreter is still starting (site, importlib, this file), and
    events of frames entered before monitoring began would show calls at
    the root. The first frame is a <module> (a script, -c, -m's module)
    of code neither pyprof's, runpy's nor frozen, whose callers are all
    pyprof's or runpy's: the program's own sitecustomize, imported by
    site through importlib, is not it, and neither is what the
    interpreter calls before the program (3.13 registers -c's source with
    linecache). The callers are recorded as entered (they are hidden), so
    the calls they make afterwards stay out of the tree too."""
    monitoring = sys.monitoring

    def gate(code, offset):
        if code.co_name != "<module>" or code.co_filename in hidden or code.co_filename.startswith("<frozen "):
            return
        callers = []
        f = sys._getframe(1).f_back
        while f is not None:
            if f.f_code.co_filename not in hidden:
                return
            callers.append(f.f_code)
            f = f.f_back
        events = _register(agent, tool_id, null, native)
        if not null:
            for c in reversed(callers):
                agent.py_start(c, 0)
            agent.py_start(code, offset)
        monitoring.set_events(tool_id, events)

    monitoring.register_callback(tool_id, monitoring.events.PY_START, gate)
    monitoring.set_events(tool_id, monitoring.events.PY_START)


def _fresh_main():
    """A new __main__ module for the program, as the interpreter makes it
    before running one (this file runs in the interpreter's own)."""
    main = type(sys)("__main__")
    namespace = main.__dict__
    namespace["__loader__"] = _IMPORTLIB.BuiltinImporter
    if "__annotations__" in globals():  # 3.12 and 3.13 start __main__ with one
        namespace["__annotations__"] = {}
    namespace["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    return namespace


def _put_path0(entry):
    # The interpreter put this file's folder first; the program expects its own.
    if sys.path and sys.path[0] == _dirname(_BOOTSTRAP_FILE):
        sys.path[0] = entry
    else:
        sys.path.insert(0, entry)


def _set_path0(entry):
    if not sys.flags.safe_path:
        _put_path0(entry)


def _script_path(target):
    """The script's file name as the interpreter makes it for __file__ and
    the code (3.9+): joined to the working directory, not normalized;
    sys.argv[0] keeps it as typed."""
    if target.startswith("/"):
        return target
    try:
        return _join(posix.getcwd(), target)
    except OSError:  # the working directory is gone: the interpreter keeps it
        return target


def _program_orig_argv(kind, target, args):
    """sys.orig_argv as if the interpreter had run the program itself: its
    own options, then the program's words in place of this file's. Must be
    called before sys.argv changes."""
    options = sys.orig_argv[1 : len(sys.orig_argv) - len(sys.argv)]
    words = {"script": [target], "module": ["-m", target], "code": ["-c", target]}[kind]
    return [sys.orig_argv[0], *options, *words, *args]


def _prepare(kind, target, args):
    """Sets argv, sys.path and __main__; returns a function that runs the program."""
    sys.orig_argv = _program_orig_argv(kind, target, args)
    # The interpreter asked the path hooks about this file, as it asks them
    # about a script (a folder or zip archive runs as one); not about -c or -m.
    sys.path_importer_cache.pop(_BOOTSTRAP_FILE, None)
    if kind == "code":
        return _prepare_code(target, args)
    if kind == "module":
        return _prepare_module(target, args)
    return _prepare_script(target, args)


def _prepare_code(target, args):
    sys.argv = ["-c", *args]
    _set_path0("")
    code = compile(target, "<string>", "exec")
    # 3.13+ keep -c's source for tracebacks, importing linecache for it,
    # between compiling and running the code.
    if sys.version_info >= (3, 13):
        import linecache

        linecache._register_code(code, target, "<string>")
    return _module_code_runner(code, _fresh_main())


def _module_code_runner(code, namespace):
    """Returns a function that runs the program's module code in namespace,
    called from Python: as a function of its own, whose call the
    interpreter makes without entering C, where exec(code, namespace)
    would take C stack levels the interpreter does not take when it runs
    the program itself (a program that recurses until the C recursion
    limit would stop sooner). Module code is not optimized: its names live
    in namespace, as under exec."""
    return type(_fields)(code, namespace)


def _prepare_module(target, args):
    """-m runs as the interpreter runs it: runpy, imported first, finds the
    module, importing its parent packages, and runs it. That import is the
    program's, as under python -m and cProfile -m: it is recorded."""
    sys.argv = ["-m", *args]
    # The interpreter puts the working folder first before importing runpy,
    # whose imports search it (and cache its finder), not this file's.
    _set_path0(posix.getcwd())
    import runpy

    _fresh_main()
    return lambda: runpy._run_module_as_main(target, True)


def _prepare_script(target, args):
    sys.argv = [target, *args]
    filename = _script_path(target)
    if _IMPORTLIB_EXTERNAL.PathFinder._path_importer_cache(filename) is not None:
        return _prepare_main_of(filename)
    with _io.open_code(filename) as f:
        source = f.read()
        folder = _real_folder(f.fileno(), filename)
    _set_path0(folder)
    code = compile(source, filename, "exec")
    namespace = _fresh_main()
    namespace.update(__loader__=_IMPORTLIB_EXTERNAL.SourceFileLoader("__main__", filename), __file__=filename, __cached__=None)
    return _module_code_runner(code, namespace)


def _real_folder(fd, filename):
    """The folder of the script with every symlink resolved, as the
    interpreter puts it first on sys.path (realpath): the kernel's name of
    the open file, where posixpath may not be imported."""
    try:
        return _dirname(posix.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return _dirname(filename)


def _prepare_main_of(path):
    """A folder or zip archive is run as the interpreter runs it: the path
    first on sys.path (even under -P), then its __main__ module, leaving
    sys.argv alone."""
    _put_path0(path)
    import runpy

    _fresh_main()
    return lambda: runpy._run_module_as_main("__main__", False)


def _program_traceback(tb, hidden):
    """tb without pyprof's frames at either end: those that ran the program,
    outermost, and those it called into, innermost (a sys.monitoring call
    on pyprof's tool id, refused from this file)."""
    while tb is not None and tb.tb_frame.f_code.co_filename in hidden:
        tb = tb.tb_next
    last, t = None, tb
    while t is not None:
        if t.tb_frame.f_code.co_filename not in hidden:
            last = t
        t = t.tb_next
    if last is not None:
        last.tb_next = None
    return tb


def _exit_like_python(exc, hidden):
    """Reports an uncaught exception the way the interpreter does, without
    pyprof's frames in the traceback, and exits as it would."""
    # The default hook prints exc.__traceback__ whatever tb it is given.
    exc = exc.with_traceback(_program_traceback(exc.__traceback__, hidden))
    sys.excepthook(type(exc), exc, exc.__traceback__)
    if isinstance(exc, KeyboardInterrupt):
        import signal

        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        posix.kill(posix.getpid(), signal.SIGINT)
    sys.exit(1)


def _exit_unopened(e):
    """Says the script cannot be opened, in the interpreter's words."""
    print(f"{sys.orig_argv[0]}: can't open file {e.filename!r}: [Errno {e.errno}] {e.strerror}", file=sys.stderr)
    sys.exit(2)


def _fail_early(fd, status, message):
    """Tells pyprof why nothing can run, through the header, before any
    agent is loaded, and exits."""
    import mmap
    import struct

    with mmap.mmap(fd, 4096, mmap.MAP_SHARED) as header:
        data = message.encode("utf-8", "replace")[:1000] + b"\0"
        header[_HDR_ERROR : _HDR_ERROR + len(data)] = data
        struct.pack_into("<I", header, _HDR_STATUS, status)
    posix._exit(_EXIT_AGENT_FAILED)


def _check_interpreter(config):
    """A C agent is built for the interpreter pyprof probed; a wrapper that
    runs another Python would crash loading it."""
    probed, running = config.get("python"), "%d.%d.%d" % sys.version_info[:3]
    if probed and probed != running and not config["path"].endswith(".py"):
        _fail_early(
            int(config["fd"]),
            _WRONG_PYTHON,
            f"{sys.executable} runs Python {running}, but pyprof expected {probed} for it "
            "(a wrapper that picks its Python by environment?): pass --python with the real interpreter",
        )


def _main():
    config = _config()
    kind, target, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    tool_id = int(config["tool"])
    _check_interpreter(config)
    agent = _load_agent(config["path"])
    hidden = {_BOOTSTRAP_FILE, _CODE_FILE, config["path"], *_runpy_files()}
    try:
        agent.init(int(config["fd"]), hidden)
        posix.close(int(config["fd"]))  # the mapping stays; children need not inherit it
        events = _claim(agent, tool_id, config["mode"] == "null", config.get("native") != "0")
        agent.on_orphan(lambda: _release(tool_id))
        _explain_taken_id(tool_id)
        set_events, note = _guard_program(tool_id, config)
        # pyprof is told when the program execs: its calls end there, and
        # what runs next is another program's (followed or not).
        watch = _watch_program(agent, tool_id, note)
        if "site" in config:
            _follow_children(agent, tool_id, config["site"])
        else:
            posix.register_at_fork(after_in_child=lambda: _release(tool_id))
        run = _prepare(kind, target, args)
    except SyntaxError as e:
        # The program does not compile: the interpreter's traceback, its
        # status, and pyprof told that nothing ran.
        agent.fail(_BAD_PROGRAM, "the program does not compile")
        _exit_like_python(e, {_BOOTSTRAP_FILE, _CODE_FILE})
    except OSError as e:
        if e.filename != _script_path(target):
            agent.fail(_ERROR, f"{type(e).__name__}: {e}")
            posix._exit(_EXIT_AGENT_FAILED)
        _exit_unopened(e)
    except Exception as e:
        agent.fail(_ERROR, f"{type(e).__name__}: {e}")
        posix._exit(_EXIT_AGENT_FAILED)
    agent.start()
    agent.set_thread_name("MainThread")
    set_events(tool_id, events)
    try:
        run()
    except SystemExit:
        raise
    except BaseException as e:
        _exit_like_python(e, hidden)
    finally:
        watch.exec_failed()


# Run as a script by pyprof; imported as a module by sitecustomize.py.
if __name__ == "__main__":
    _main()
