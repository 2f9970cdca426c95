"""pyprof: exact call profiles of Python 3.12+ programs.

Around a region of a running program:

    import pyprof

    with pyprof.profile("request.svg"):
        handle(request)

records every call every thread of the process makes while the block runs,
with the agent of `pyprof record`; the pyprof executable installed with
this package runs beside the program and writes the profile (.pb.gz,
.pprof, .folded, .txt, .svg, .speedscope.json). See Profiler for starting
and stopping by hand, and mode="sample" for sampling from outside.

`python -m pyprof ...` and `pyprof ...` run that executable.
"""

from ._errors import AlreadyRecording, ProfilerError, ToolIdInUse
from ._profiler import Profiler, profile

__all__ = ["AlreadyRecording", "Profiler", "ProfilerError", "ToolIdInUse", "profile"]


def __getattr__(name):
    """pyprof.__version__: the version of this installation, read from its
    metadata when first asked for (the pyprof executable's version)."""
    if name == "__version__":
        from importlib.metadata import version

        return version("pyprof")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
