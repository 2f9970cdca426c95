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
    # The installed distribution's version: the wheel's metadata, which the
    # pyprof executable's own version made.
    if name == "__version__":
        from importlib.metadata import version

        return version("pyprof")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
