"""Reference counter for pyprof's tests: runs a program and counts the
PY_START events sys.monitoring raises for each code object, under its own
tool id, with nothing of pyprof loaded.

Usage: refcount.py OUT.json [--deeper] PROGRAM [ARGS] or
refcount.py OUT.json [--deeper] -m MODULE [ARGS]. --deeper starts the
program three C stack levels deeper (through eval): counts that change
with it depend on how deep the program starts, as those of a program that
recurses until the C recursion limit do.

It is cold: the program starts with the modules and caches it would have
without it, as under pyprof. Until the program ends this file imports
nothing the interpreter has not imported at start-up (for -m, runpy, which
the interpreter imports to run a module), and it sets sys.argv, sys.path[0],
__main__ and the path hooks' cache as the interpreter would have. It counts
from the program's first frame (for -m, the import of the module's parent
packages included, as pyprof records it) until after the program's atexit
functions, and leaves out its own frames and runpy's, which pyprof hides.
Its callback is a Python function: the recursion limit is raised by the
one frame it takes (see on_start and _lift_recursion_limit)."""

import posix
import sys

_HERE = __file__
_TOOL = 3
_IMPORTLIB = sys.modules["_frozen_importlib"]
_IMPORTLIB_EXTERNAL = sys.modules["_frozen_importlib_external"]

counts = {}


def on_start(code, offset):
    # No calls here: pyprof's C callback takes one level of the C
    # recursion limit as it runs, and so does this frame; a call from it
    # would take one more, and a program that runs into the limit (json's
    # C encoder calling Python) would stop one call sooner than under
    # pyprof. Code objects alike (-c's, doctests', a module compiled again)
    # count as one, as they do in pyprof's profile.
    key = (code.co_qualname, code.co_filename, code.co_firstlineno)
    try:
        counts[key] += 1
    except KeyError:
        counts[key] = 1


def _fresh_main():
    main = type(sys)("__main__")
    namespace = main.__dict__
    namespace["__loader__"] = _IMPORTLIB.BuiltinImporter
    if "__annotations__" in globals():
        namespace["__annotations__"] = {}
    namespace["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    return namespace


def _dirname(path):
    head = path[: path.rfind("/") + 1]
    return head.rstrip("/") or head


def _set_path0(entry):
    if sys.flags.safe_path:
        return
    if sys.path and sys.path[0] == _dirname(_HERE):
        sys.path[0] = entry
    else:
        sys.path.insert(0, entry)


def _prepare_module(name, args):
    sys.argv = ["-m", *args]
    _set_path0(posix.getcwd())
    import runpy  # as python -m imports it, before the program, with the working folder first

    _fresh_main()
    return lambda: runpy._run_module_as_main(name, True)


def _prepare_script(path, args):
    sys.argv = [path, *args]
    filename = path if path.startswith("/") else posix.getcwd() + "/" + path
    _IMPORTLIB_EXTERNAL.PathFinder._path_importer_cache(filename)
    fd = posix.open(filename, posix.O_RDONLY)
    try:
        folder = _dirname(posix.readlink(f"/proc/self/fd/{fd}"))
        source = b""
        while chunk := posix.read(fd, 1 << 20):
            source += chunk
    finally:
        posix.close(fd)
    _set_path0(folder)
    code = compile(source, filename, "exec")
    namespace = _fresh_main()
    namespace.update(__file__=filename, __cached__=None, __loader__=_IMPORTLIB_EXTERNAL.SourceFileLoader("__main__", filename))
    # Called as a function, not exec'd: no C stack level more than the
    # interpreter takes to run a script (pyprof runs it so too).
    return type(main)(code, namespace)


def _lift_recursion_limit():
    """Gives the program one frame more than it asks for, and says it has
    what it asked: this file's callback is a Python frame on top of the
    program's, which pyprof's C callback is not, so a program that runs
    into the limit would otherwise stop one call short of its run under
    pyprof."""
    get, set_ = sys.getrecursionlimit, sys.setrecursionlimit

    def getrecursionlimit():
        return get() - 1

    def setrecursionlimit(limit):
        set_(limit + 1)

    set_(get() + 1)
    sys.getrecursionlimit, sys.setrecursionlimit = getrecursionlimit, setrecursionlimit


def _private_atexit():
    """The atexit module made without importing it: sys.modules does not
    get it, so the program's own import of atexit runs as it would. Its
    functions are the interpreter's, so one registered now runs after every
    one the program registers."""
    spec = _IMPORTLIB.ModuleSpec("atexit", _IMPORTLIB.BuiltinImporter, origin="built-in")
    imp = sys.modules["_imp"]
    module = imp.create_builtin(spec)
    imp.exec_builtin(module)
    return module


def _dump(out):
    sys.monitoring.set_events(_TOOL, 0)
    import json

    hidden = {_HERE, "<frozen runpy>", sys._stdlib_dir + "/runpy.py"}
    with open(out, "w") as f:
        json.dump([[*key, n] for key, n in counts.items() if key[1] not in hidden], f)


def _deeper(run):
    code = compile("run()", _HERE, "eval")  # in this file, whose frames are left out
    return lambda: eval(code, {"run": run})


def main():
    out, words = sys.argv[1], sys.argv[2:]
    deeper = words[0] == "--deeper"
    if deeper:
        words = words[1:]
    sys.path_importer_cache.pop(_HERE, None)
    if words[0] == "-m":
        run = _prepare_module(words[1], words[2:])
    else:
        run = _prepare_script(words[0], words[1:])
    if deeper:
        run = _deeper(run)
    _private_atexit().register(_dump, out)
    _lift_recursion_limit()
    monitoring = sys.monitoring
    monitoring.use_tool_id(_TOOL, "refcount")
    monitoring.register_callback(_TOOL, monitoring.events.PY_START, on_start)
    monitoring.set_events(_TOOL, monitoring.events.PY_START)
    run()


main()
