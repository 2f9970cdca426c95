"""pyprof's exceptions."""


class ProfilerError(Exception):
    """A profile cannot start, stop or be written; the message says why
    and what to do."""

    __module__ = "pyprof"  # where programs find it


class AlreadyRecording(ProfilerError):
    """Another region records in this process already (pyprof records one
    at a time): started nested, from another thread, or by another
    request. The message names the file and line where it started. A
    program that profiles some of its requests catches this one alone:
    every other ProfilerError is a problem to fix (an output folder that
    is missing, no writable cache folder, no pyprof executable)."""

    __module__ = "pyprof"  # where programs find it


class ToolIdInUse(ProfilerError):
    """The sys.monitoring tool id pyprof traces with is another tool's
    (cProfile, a debugger, another profiler): owner names it."""

    __module__ = "pyprof"  # where programs find it

    def __init__(self, tool_id, owner):
        self.tool_id, self.owner = tool_id, owner
        super().__init__(
            f"sys.monitoring tool id {tool_id} is already used by {owner!r}: "
            f"stop it first, or pass tool_id=N with a free id from 0 to 5"
        )
