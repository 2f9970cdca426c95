"""pyprof's exceptions."""


class ProfilerError(Exception):
    """A profile cannot start, stop or be written; the message says why
    and what to do."""


class ToolIdInUse(ProfilerError):
    """The sys.monitoring tool id pyprof traces with is another tool's
    (cProfile, a debugger, another profiler): owner names it."""

    def __init__(self, tool_id, owner):
        self.tool_id, self.owner = tool_id, owner
        super().__init__(
            f"sys.monitoring tool id {tool_id} is already used by {owner!r}: "
            f"stop it first, or pass tool_id=N with a free id from 0 to 5"
        )
