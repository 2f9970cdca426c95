"""pyprof's hook in the new interpreters a profiled program starts
(pyprof record --subprocesses).

pyprof puts this file's folder first on PYTHONPATH and describes the
recording in PYPROF_CHILD; the program's children inherit both. Here the
folder leaves sys.path again, the sitecustomize this one hides (if any) runs
as it would have, and then, on Python 3.12 or newer, bootstrap.py's
follow_exec starts the agent. Any Python may import this file, so it is
written for all of them and does nothing else on those older than 3.12.
"""
import os
import sys


def _pyprof_importlib():
    """The frozen importlib the interpreter started with (3.5+), which
    serves as importlib.machinery and importlib.util without importing
    them for the program, or None."""
    boot = sys.modules.get("_frozen_importlib")
    external = sys.modules.get("_frozen_importlib_external")
    if boot is None or external is None:
        return None
    return boot, external


def _pyprof_run_next_sitecustomize(here):
    """Takes this folder out of sys.path and runs the next sitecustomize on
    it, as the interpreter would have without pyprof."""
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    importlib = _pyprof_importlib()
    if importlib is None:  # Python 2 and the oldest 3
        import imp

        try:
            found = imp.find_module("sitecustomize", sys.path)
        except ImportError:
            return
        imp.load_module("sitecustomize", *found)
        return
    boot, external = importlib
    spec = external.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None:
        return
    module = boot.module_from_spec(spec)
    # The import of this file returns what sys.modules holds at its end.
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _pyprof_follow():
    config = os.environ.get("PYPROF_CHILD")
    # PYPROF_AGENT: pyprof's own bootstrap starts the program's agent.
    if sys.version_info < (3, 12) or not config or "PYPROF_AGENT" in os.environ:
        return
    try:
        boot, external = _pyprof_importlib()
        fields = dict(kv.split("=", 1) for kv in config.split(";") if kv)
        loader = external.SourceFileLoader("_pyprof_bootstrap", fields["boot"])
        spec = external.spec_from_file_location("_pyprof_bootstrap", fields["boot"], loader=loader)
        bootstrap = boot.module_from_spec(spec)
        loader.exec_module(bootstrap)
        bootstrap.follow_exec(fields, os.path.abspath(__file__))
    except ConnectionRefusedError:
        pass  # the recording is over (a child started as the program ended), or pyprof refused and said why
    except Exception as e:
        sys.stderr.write("pyprof: not following process %d: %s: %s\n" % (os.getpid(), type(e).__name__, e))


def _pyprof_main():
    try:
        # The program's own sitecustomize first: like the program's, the
        # child's profile starts at its first frame, and a claim on the tool
        # id there leaves the child unprofiled rather than failing.
        _pyprof_run_next_sitecustomize(os.path.dirname(os.path.abspath(__file__)))
    finally:
        _pyprof_follow()


_pyprof_main()
