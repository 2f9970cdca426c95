"""Profiler and profile(): regions of a running program."""

import os
import sys
import threading
import warnings

from . import _consumer
from ._errors import AlreadyRecording, ProfilerError, ToolIdInUse

_MODES = ("trace", "sample")
_EXTENSIONS = (".pb.gz", ".pprof", ".folded", ".txt", ".svg", ".speedscope.json")

# This package's files: their frames are pyprof's, never the region's.
_OWN_FILES = frozenset(_consumer.package_files())

_lock = threading.Lock()
_recording = None  # the Profiler recording now
_consumer_now = None  # pyprof's process, once started
_no_trace = None  # why trace mode cannot start in this process, if it cannot


def profile(*outputs, mode="trace", **options):
    """Records the block of a with statement into outputs (files whose
    extensions give the formats: .pb.gz or .pprof for pprof, .folded or
    .txt for folded stacks, .svg for a flame graph, .speedscope.json).
    With none, the profile is built and kept: write() saves it, stats
    counts it. Takes Profiler's options."""
    return Profiler(*outputs, mode=mode, **options)


class Profiler:
    """Records what the whole process does between start() and stop().

    mode="trace" (the default) records every call of every thread, exact,
    with the agent of `pyprof record`: the profile's root on the thread
    that started is the function whose code called start() (or entered
    the with block), counted once; on every thread, functions already
    running when the region began are left out, and what they call during
    it is at the root; each thread's CPU clock is read rate times a second
    (from /proc, outside the program) to charge CPU time to the path it
    runs. mode="sample" reads the process's stacks from outside rate
    times a second, leaving out the same frames. rate is 1 to 10000 (100
    by default); a region always measures CPU time, so 0 is refused.

    outputs are written by stop(); write() writes the last region again.
    One region records at a time in a process: starting a second one, nested
    or from another thread, raises AlreadyRecording (a ProfilerError). tool_id is the
    sys.monitoring tool id of trace mode (2, PROFILER_ID, by default);
    another tool holding it raises ToolIdInUse. native_calls=False records
    Python functions only, at half the cost on call-heavy code.

    After stop(), stats holds what the profile counts: events, samples,
    lost, threads, functions, seconds, wait_ns (how long the program waited
    for pyprof) and wrote (the files written).
    """

    def __init__(self, *outputs, mode="trace", rate=100, native_calls=True, tool_id=None):
        if mode not in _MODES:
            raise ValueError(f"mode {mode!r}: use 'trace' or 'sample'")
        _check_int("rate", rate)
        if rate == 0:
            # record --rate 0 records no CPU time in trace mode; a region's
            # profile always has its CPU column.
            raise ValueError(
                "rate 0: a region always measures CPU time (trace mode) or samples (sample mode): "
                "want 1 to 10000 readings or samples a second"
            )
        if not 1 <= rate <= 10000:
            raise ValueError(f"rate {rate!r}: want 1 to 10000 readings or samples a second")
        if tool_id is None:
            tool_id = sys.monitoring.PROFILER_ID
        _check_int("tool_id", tool_id)
        if not 0 <= tool_id <= 5:
            raise ValueError(f"tool_id {tool_id!r}: sys.monitoring tool ids run from 0 to 5")
        if not isinstance(native_calls, bool):
            raise TypeError(f"native_calls {native_calls!r}: want True or False")
        self.outputs = [_output(o) for o in outputs]
        _check_distinct(self.outputs)
        self.mode, self.rate, self.native_calls, self.tool_id = mode, rate, native_calls, tool_id
        self.stats = None
        self._consumer = None
        self._region = None
        self._started_at = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
            return False
        # The block's own exception is what the program must see: a profile
        # that cannot be written is a warning then.
        try:
            self.stop()
        except ProfilerError as e:
            _warn(f"pyprof: the profile was not written: {e}")
        return False

    def start(self):
        """Starts recording; returns the Profiler."""
        global _recording
        frame = _region_frame()
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
        with _lock:
            if _recording is not None:
                raise AlreadyRecording(
                    f"a pyprof profile is recording already (started at {_recording._started_at}): "
                    f"pyprof records one region at a time in a process; stop that one first"
                )
            self._started_at, _recording = where, self
        try:
            if self.mode == "trace":
                self._start_trace()
            else:
                self._start_sample()
        except BaseException:
            with _lock:
                _recording = None
            raise
        return self

    def stop(self):
        """Stops recording and writes the outputs; returns stats, or None
        when pyprof's process ended during the region (a RuntimeWarning
        says so: the program itself runs on)."""
        global _recording
        with _lock:
            if _recording is not self:
                raise ProfilerError("this Profiler is not recording: call start() first")
        try:
            if self.mode == "trace":
                self._stop_trace()
            return self._finish()
        finally:
            with _lock:
                _recording = None

    def write(self, *paths):
        """Writes the profile of the last region recorded to paths."""
        if self._region is None:
            raise ProfilerError("nothing to write yet: stop() a region first")
        for path in paths:
            self._consumer.request({"op": "write", "path": _output(path), "region": self._region})

    def _start_trace(self):
        if _traced_by_record():
            raise ProfilerError(_UNDER_RECORD)
        c = _get_consumer(trace=True)
        agent, boot = c.load_agent()
        monitoring = sys.monitoring
        owner = monitoring.get_tool(self.tool_id)
        if owner is not None:
            raise ToolIdInUse(self.tool_id, owner)
        c.request({"op": "start", "mode": "trace", "outputs": self.outputs, "rate": self.rate, "names": _thread_names()})
        self._consumer = c
        try:
            monitoring.use_tool_id(self.tool_id, "pyprof")
            events = boot._register(agent, self.tool_id, False, self.native_calls)
            _name_threads(c, boot, agent, self.tool_id)
            c.on_orphan = lambda: boot._release(self.tool_id)
            agent.start()
            # The region's frame and pyprof's own frames down to this one
            # are entered as they run: their returns then match, and the
            # region's frame is the root of this thread's tree.
            for frame in _frames_down_from_region():
                agent.py_start(frame.f_code, 0)
            monitoring.set_events(self.tool_id, events)
        except BaseException:
            agent.stop()
            boot._release(self.tool_id)
            try:
                c.request({"op": "abort"})
            except ProfilerError:
                pass
            raise

    def _stop_trace(self):
        c = self._consumer
        agent, boot = c.agent, c.bootstrap
        silent = None
        if sys.monitoring.get_tool(self.tool_id) == "pyprof":
            # Events off first: the request below is pyprof's own work
            # (json, the socket), never the region's calls.
            sys.monitoring.set_events(self.tool_id, 0)
            # The CPU time used since the last reading is the region's:
            # read it while the region's frame is still open in its tree.
            try:
                c.request({"op": "cpu"})
            except _consumer.ConsumerSilent as e:
                silent = e  # raised once the region is closed
            except ProfilerError:
                pass  # pyprof's process ended: _finish says so
            # The region's frame ends here, with the pyprof frames above it.
            agent.py_return(_region_frame().f_code, 0)
        agent.stop()
        c.on_orphan = c.thread_starting = None
        boot._release(self.tool_id)
        if silent is not None:
            raise silent

    def _start_sample(self):
        c = _get_consumer(trace=False)
        _allow_reads_by(c.pid)
        c.request(
            {
                "op": "start",
                "mode": "sample",
                "outputs": self.outputs,
                "rate": self.rate,
                "hidden": sorted(_OWN_FILES | c.agent_files),
                "running": _running_frames(),
                "names": _thread_names(),
            }
        )
        self._consumer = c

    def _keep(self, summary):
        # The region's number is pyprof's business, for write(): not a count.
        self._region = summary.pop("region")
        self.stats = summary

    def _finish(self):
        try:
            answer = self._consumer.request({"op": "stop", "names": _thread_names()})
        except _consumer.ConsumerGone as e:
            _warn(f"pyprof: {e} during the region: no profile was written")
            self.stats = self._region = None
            return None
        except ProfilerError as e:
            # An output could not be written: the region is recorded and
            # kept, for write() to save elsewhere.
            summary = getattr(e, "_answer", {}).get("summary")
            if summary:
                self._keep(summary)
                e.args = (f"{e}: the region's profile is kept: write(path) saves it elsewhere",)
            raise
        self._keep(answer["summary"])
        if self._consumer.gave_up:
            self._consumer.gave_up = False
            _warn(
                f"pyprof: pyprof's process (pid {self._consumer.pid}) left a full ring undrained for 5 s "
                "(it was stopped, or got no CPU): recording stopped there, and the region's profile ends then"
            )
        if self.stats["lost"]:
            _warn(f"pyprof: {self.stats['lost']} events were lost (a [lost] frame shows them)")
        return self.stats


def _warn(message):
    """Warns at the program's line that started or stopped the region, the
    first one outside this package."""
    warnings.warn(message, RuntimeWarning, skip_file_prefixes=(_PACKAGE_DIR,))


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _check_int(name, value):
    # bool is an int to Python, never a rate or an id to pyprof.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} {value!r}: want an int")


def _output(path):
    """The absolute path of an output: pyprof's process writes it,
    wherever this program's working folder is then. Every problem with
    an output is a ProfilerError, here as when pyprof's process checks
    its folder."""
    try:
        path = os.fsdecode(path)
    except TypeError:
        raise TypeError(f"output {path!r}: want a path (str, bytes or os.PathLike)") from None
    name = os.path.basename(path)
    extension = next((e for e in _EXTENSIONS if name.endswith(e)), None)
    if extension is None:
        raise ProfilerError(f"output {path!r}: name a file ending in one of {', '.join(_EXTENSIONS)}")
    if name == extension:
        raise ProfilerError(f"output {path!r}: name a file before its extension, such as 'profile{extension}'")
    return os.path.abspath(path)


def _check_distinct(outputs):
    """Refuses two outputs that are one file (through a symlink, dangling
    too, or a hard link), as record refuses them: the second would replace
    the first."""
    seen = {}
    for path in outputs:
        real = os.path.realpath(path)
        try:
            st = os.stat(path)
            key = (st.st_dev, st.st_ino)
        except OSError:
            key = real
        for other in (real, key):
            if other in seen:
                raise ProfilerError(f"outputs {seen[other]!r} and {path!r} are the same file: give each output its own")
        seen[real] = seen[key] = path


def _thread_names():
    """The names of the threads alive now, by native id: those that end
    during a region are named from the start's list."""
    return {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}


_UNDER_RECORD = (
    "this process is recorded by `pyprof record` already, and its whole run is in that profile: "
    "run the program without `pyprof record` to profile a region of it"
)


def _traced_by_record():
    """Whether `pyprof record` traces this process: its agent holds a
    tool id under pyprof's name for the whole run, where a region of
    this package holds one only while it records."""
    return any(sys.monitoring.get_tool(i) == "pyprof" for i in range(6))


def _name_threads(c, boot, agent, tool_id):
    """Names the threads started during the region as record does: the
    bootstrap turns LINE events of Thread._bootstrap_inner on for pyprof's
    tool id once a thread starts; the code objects it saw in earlier
    regions, released since, are watched again now."""
    c.thread_starting = boot._name_threads(agent, tool_id)
    for code in boot._THREAD_CODES:
        sys.monitoring.set_local_events(tool_id, code, sys.monitoring.events.LINE)


def _get_consumer(trace):
    """pyprof's process, started on first use or again after it ended
    (trace mode cannot go on after that: the agent is bound to it)."""
    global _consumer_now, _no_trace
    c = _consumer_now
    if c is not None and c.dead and c.agent is not None:
        _no_trace = (
            f"pyprof's process (pid {c.pid}) ended while this program ran, and the agent it fed cannot be "
            f"started again (it loads once per process, bound to the memory of that pyprof process): "
            f"trace mode is not available again in this process until it restarts (mode='sample' is)"
        )
    if trace and _no_trace:
        raise ProfilerError(_no_trace)
    if c is None or c.dead:
        c = _consumer_now = _consumer.Consumer()
    return c


def _region_frame():
    """The innermost frame that is not pyprof's: the region's."""
    f = sys._getframe(1)
    while f.f_back is not None and f.f_code.co_filename in _OWN_FILES:
        f = f.f_back
    return f


def _frames_down_from_region():
    """The region's frame and the frames from it down to the caller of
    this function, outermost first."""
    frames = []
    f = sys._getframe(1)
    while f is not None:
        frames.append(f)
        if f.f_code.co_filename not in _OWN_FILES:
            break
        f = f.f_back
    return frames[::-1]


# How many bytes of running frames a start request may carry: a
# SOCK_SEQPACKET message must fit the socket's send buffer (~200 KiB).
_RUNNING_BUDGET = 100_000


def _running_frames():
    """The frames each thread is running now, by native id, outermost
    first: sample mode leaves them out of the profile, as trace mode
    never sees them. The region's own frame stays. When they would not
    fit one request, only the region's thread's are sent."""
    import json

    natives = {t.ident: t.native_id for t in threading.enumerate()}
    me = threading.get_ident()
    running = {}
    for ident, f in sys._current_frames().items():
        if natives.get(ident) is None:
            continue
        if ident == me:
            f = _region_frame().f_back
        stack = []
        while f is not None:
            stack.append({"file": f.f_code.co_filename, "line": f.f_code.co_firstlineno})
            f = f.f_back
        running[natives[ident]] = stack[::-1]
    if len(json.dumps(running)) > _RUNNING_BUDGET:
        mine = natives[me]
        running = {mine: running.get(mine, [])[:200]}
    return running


def _allow_reads_by(pid):
    """Lets pyprof's process read this one where Yama allows reading only
    one's descendants (PR_SET_PTRACER); elsewhere this does nothing."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(0x59616D61, pid, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _after_fork_in_child():
    """A forked child starts with no region and no pyprof process: the
    parent's socket is the parent's. The agent stopped recording at the
    fork; it stays bound to the parent's rings."""
    global _lock, _recording, _consumer_now, _no_trace
    _lock = threading.Lock()
    c, r = _consumer_now, _recording
    if c is not None:
        if c.agent is not None:
            _no_trace = (
                "this process was forked from one where pyprof traced already, whose agent it inherited: "
                "trace mode is not available in it (mode='sample' is)"
            )
            if r is not None and r.mode == "trace":
                c.bootstrap._release(r.tool_id)
        c.forget()
    _recording = _consumer_now = None


os.register_at_fork(after_in_child=_after_fork_in_child)
