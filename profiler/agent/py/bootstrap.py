"""pyprof's start-up code, run by the target interpreter in place of the program.

pyprof starts `python [its options] bootstrap.py KIND TARGET ARGS...` where KIND
is script, module or code. This file loads the agent, claims the
sys.monitoring tool id, registers the callbacks, turns events on and runs the
program as the interpreter itself would have. Its frames, and runpy's, are
marked hidden so profiles start at the program's <module>.

Configuration comes in the environment variable PYPROF_AGENT (removed before
the program runs, so the program and its children never see it).

With record --subprocesses (PYPROF_AGENT has site=DIR), children are
followed: a forked child gets rings of its own (_follow_forks), and a new
interpreter finds pyprof's sitecustomize.py first on PYTHONPATH, which calls
follow_exec below with the recording described in PYPROF_CHILD. Both
variables stay in the environment, so grandchildren are followed too.
"""

import os
import sys

_BOOTSTRAP_FILE = __file__
_TOOL_TAKEN = 3  # PYPROF_STATUS_TOOL_TAKEN in wire.h
_ERROR = 2  # PYPROF_STATUS_ERROR
_BAD_PROGRAM = 4  # PYPROF_STATUS_BAD_PROGRAM
_WRONG_PYTHON = 5  # PYPROF_STATUS_WRONG_PYTHON
# Header offsets of wire.h, for failing before any agent is loaded
# (TestBootstrapConstants checks them against wire.h).
_HDR_STATUS = 36
_HDR_ERROR = 1024
_EXIT_AGENT_FAILED = 121  # seen by pyprof only; it reports the header's message


def _fields(value):
    return dict(kv.split("=", 1) for kv in value.split(";") if kv)


def _config():
    return _fields(os.environ.pop("PYPROF_AGENT"))


def _load_agent(path):
    import importlib.machinery
    import importlib.util

    if path.endswith(".py"):
        loader = importlib.machinery.SourceFileLoader("_pyprof_agent", path)
    else:
        loader = importlib.machinery.ExtensionFileLoader("_pyprof_agent", path)
    spec = importlib.util.spec_from_file_location("_pyprof_agent", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        os._exit(_EXIT_AGENT_FAILED)
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
    for event_name, _ in _EVENTS:
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
            if tool != tool_id or get_tool(tool_id) != "pyprof" or sys._getframe(1).f_code.co_filename == _BOOTSTRAP_FILE:
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
    import time

    fd = int(config["notes"])
    os.set_inheritable(fd, False)
    os.set_blocking(fd, False)
    pipe = os.fstat(fd)
    program = os.getpid()

    def note(text):
        if os.getpid() != program:
            return
        try:
            now = os.fstat(fd)
            if (now.st_dev, now.st_ino) == (pipe.st_dev, pipe.st_ino):
                os.write(fd, f"{time.monotonic_ns()} {text}\n".encode())
        except OSError:
            pass

    return note


def _note_exec(note):
    """Tells pyprof when the program replaces itself by another program
    (os.execv or os.execve, which every os.exec* calls): the recording ends
    there. An exec that fails is taken back."""
    for name in ("execv", "execve"):
        original = getattr(os, name)

        def exec_(*args, _original=original, _name=name):
            note(f"exec os.{_name}")
            try:
                return _original(*args)
            except BaseException:
                note("exec-failed")
                raise

        exec_.__name__ = exec_.__qualname__ = name
        if original in os.supports_fd:
            os.supports_fd.add(exec_)
        setattr(os, name, exec_)


def _guard_program(tool_id, config):
    """Keeps pyprof's tool id from the program and, without --subprocesses
    (which follows a Python the program becomes), says when it execs.
    Returns sys.monitoring.set_events as it was, for turning pyprof's events
    on: a frame of the guard's would be open as they start, its return
    left without a matching call."""
    set_events = sys.monitoring.set_events
    note = _notes_to_pyprof(config)
    _keep_tool_id(tool_id, note)
    if note and "site" not in config:
        _note_exec(note)
    return set_events


def _name_threads(agent):
    """Records each thread's Python name when it starts and when it ends
    (a thread may rename itself); threading knows the name, the agent does not."""
    import threading

    original = threading.Thread._bootstrap_inner

    def _bootstrap_inner(self):
        agent.set_thread_name(self.name)
        try:
            original(self)
        finally:
            agent.set_thread_name(self.name)

    threading.Thread._bootstrap_inner = _bootstrap_inner
    return threading


def _follow_forks(agent, tool_id):
    """Makes a forked child record into rings of its own. The
    agent stops recording in the child before any Python code runs there
    (agent.c in a pthread_atfork handler, the twin in a hook registered
    before this one); agent.forked makes the rings, registers them with
    pyprof and records again. A child that cannot be followed gives the
    tool id back and runs unprofiled, as without --subprocesses."""
    import threading

    def after_fork_in_child():
        try:
            # The name first: once forked returns, this frame's own events
            # are recorded, and it is hidden.
            if agent.forked(threading.current_thread().name):
                return
        except ConnectionRefusedError:
            pass  # the recording is over, or pyprof refused and said why
        except Exception as e:
            print(f"pyprof: not following process {os.getpid()}: {type(e).__name__}: {e}", file=sys.stderr)
        _release(tool_id)

    os.register_at_fork(after_in_child=after_fork_in_child)


def _follow_children(agent, tool_id, site):
    """Follows the program's children: forked ones (_follow_forks) and new
    interpreters, which find pyprof's sitecustomize.py in site first on
    PYTHONPATH. PYPROF_CHILD, set by pyprof, describes the recording."""
    agent.follow(_fields(os.environ["PYPROF_CHILD"])["socket"])
    _follow_forks(agent, tool_id)
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = site + os.pathsep + path if path else site


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
            f"pyprof: not following process {os.getpid()}: sys.monitoring tool id {tool_id} is already used by {owner!r}",
            file=sys.stderr,
        )
        return
    path, agent = _child_agent(config)
    # runpy, frozen or not, without importing it for the program.
    hidden = {_BOOTSTRAP_FILE, path, site_file, "<frozen runpy>", os.path.join(os.path.dirname(os.__file__), "runpy.py")}
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
        threading = _name_threads(agent)
        _follow_forks(agent, tool_id)
        agent.start()
        agent.set_thread_name(threading.current_thread().name)
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
    import importlib.machinery
    import types

    main = types.ModuleType("__main__")
    namespace = main.__dict__
    namespace["__loader__"] = importlib.machinery.BuiltinImporter
    if "__annotations__" in globals():  # 3.12 and 3.13 start __main__ with one
        namespace["__annotations__"] = {}
    namespace["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    return namespace


def _put_path0(entry):
    # The interpreter put this file's folder first; the program expects its own.
    if sys.path and sys.path[0] == os.path.dirname(_BOOTSTRAP_FILE):
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
    if os.path.isabs(target):
        return target
    try:
        return os.path.join(os.getcwd(), target)
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
    if kind == "code":
        sys.argv = ["-c", *args]
        _set_path0("")
        code = compile(target, "<string>", "exec")
        namespace = _fresh_main()
        return lambda: exec(code, namespace)
    if kind == "module":
        import runpy

        sys.argv = ["-m", *args]
        _set_path0(os.getcwd())
        # Find the module (importing its parent packages) before events are
        # on, as the interpreter does before the module runs, so that the
        # profile starts at the module's <module>. These are runpy's own
        # steps of _run_module_as_main.
        try:
            _, spec, code = runpy._get_module_details(target, runpy._Error)
        except runpy._Error as e:
            print(f"{sys.executable}: {e}", file=sys.stderr)
            sys.exit(1)
        sys.argv[0] = spec.origin
        namespace = _fresh_main()
        namespace.update(__file__=spec.origin, __cached__=spec.cached, __loader__=spec.loader, __package__=spec.parent, __spec__=spec)
        return lambda: exec(code, namespace)
    sys.argv = [target, *args]
    filename = _script_path(target)
    if os.path.isdir(target) or not target.endswith((".py", ".pyw")) and _is_zip(target):
        return _prepare_main_of(filename)
    _set_path0(os.path.dirname(os.path.realpath(target)))
    import io

    with io.open_code(filename) as f:
        source = f.read()
    code = compile(source, filename, "exec")
    namespace = _fresh_main()
    import importlib.machinery

    namespace.update(__loader__=importlib.machinery.SourceFileLoader("__main__", filename), __file__=filename, __cached__=None)
    return lambda: exec(code, namespace)


def _prepare_main_of(path):
    """A folder or zip archive is run as the interpreter runs it: the path
    first on sys.path (even under -P), then its __main__ module, leaving
    sys.argv alone."""
    import runpy

    _put_path0(path)
    _fresh_main()
    return lambda: runpy._run_module_as_main("__main__", False)


def _is_zip(path):
    import zipfile

    return zipfile.is_zipfile(path)


def _program_traceback(tb, hidden):
    while tb is not None and tb.tb_frame.f_code.co_filename in hidden:
        tb = tb.tb_next
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
        os.kill(os.getpid(), signal.SIGINT)
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
    os._exit(_EXIT_AGENT_FAILED)


def _check_interpreter(config):
    """A C agent is built for the interpreter pyprof probed; a wrapper that
    runs another Python would crash loading it."""
    probed, running = config.get("python"), "%d.%d.%d" % sys.version_info[:3]
    if probed and probed != running and not config["path"].endswith(".py"):
        _fail_early(
            int(config["fd"]),
            _WRONG_PYTHON,
            f"{sys.executable} runs Python {running}, but pyprof probed {probed} for it "
            "(a wrapper that picks its Python by environment?): pass --python with the real interpreter",
        )


def _main():
    config = _config()
    kind, target, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    tool_id = int(config["tool"])
    _check_interpreter(config)
    agent = _load_agent(config["path"])
    hidden = {_BOOTSTRAP_FILE, config["path"]}
    try:
        import runpy

        # runpy is frozen in 3.12+: its code says "<frozen runpy>", not __file__.
        hidden.update({runpy.__file__, runpy._run_code.__code__.co_filename})
        agent.init(int(config["fd"]), hidden)
        os.close(int(config["fd"]))  # the mapping stays; children need not inherit it
        events = _claim(agent, tool_id, config["mode"] == "null", config.get("native") != "0")
        agent.on_orphan(lambda: _release(tool_id))
        _explain_taken_id(tool_id)
        set_events = _guard_program(tool_id, config)
        _name_threads(agent)
        if "site" in config:
            _follow_children(agent, tool_id, config["site"])
        else:
            os.register_at_fork(after_in_child=lambda: _release(tool_id))
        run = _prepare(kind, target, args)
    except SyntaxError as e:
        # The program does not compile: the interpreter's traceback, its status.
        _exit_like_python(e, {_BOOTSTRAP_FILE})
    except OSError as e:
        if e.filename != _script_path(target):
            agent.fail(_ERROR, f"{type(e).__name__}: {e}")
            os._exit(_EXIT_AGENT_FAILED)
        _exit_unopened(e)
    except Exception as e:
        agent.fail(_ERROR, f"{type(e).__name__}: {e}")
        os._exit(_EXIT_AGENT_FAILED)
    import threading

    agent.start()
    agent.set_thread_name(threading.current_thread().name)
    set_events(tool_id, events)
    try:
        run()
    except SystemExit:
        raise
    except BaseException as e:
        _exit_like_python(e, hidden)


# Run as a script by pyprof; imported as a module by sitecustomize.py.
if __name__ == "__main__":
    _main()
