"""pyprof's pure-Python agent: the twin of agent.c.

Used when no C compiler or no Python.h is available. It writes exactly the
records agent.c writes (wire.h), only slower; the same tests run against both.
The constants below mirror wire.h and a test compares them with it.

The program must start as cold as it would without pyprof (see bootstrap.py):
this module imports nothing the interpreter has not imported before any
program runs, even under -S (sys, posix, _thread, _imp, the frozen
importlib), and patches nothing. Words are packed with int.to_bytes and
memoryview casts instead of struct; threads are told apart with _thread
instead of threading; the types it tells callables by are taken from
objects at hand instead of from types. The few extension modules it cannot
do without (mmap for the shared memory; _socket, fcntl and, where this
Python has no os.memfd_create, _ctypes to make and register a child's
rings) are loaded by _quietly, which leaves sys.modules and the
path hooks' cache as they were.
"""

import _imp
import _thread
import posix
import sys

_IMPORTLIB = sys.modules["_frozen_importlib"]


def _quietly(name):
    """The module the program's own `import name` would load, without
    importing it: the interpreter's copy if it has imported one already,
    else a copy of our own, made from the built-in module or the extension
    file on sys.path, which sys.modules never holds. The program that later
    imports the module gets a module of its own, made as if pyprof had not
    been there; only the shared library stays loaded in the process, which
    the program cannot see but as a slightly faster import."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    if name in sys.builtin_module_names:
        spec = _IMPORTLIB.ModuleSpec(name, _IMPORTLIB.BuiltinImporter, origin="built-in")
        module = _imp.create_builtin(spec)
        _imp.exec_builtin(module)
    else:
        spec = _IMPORTLIB.ModuleSpec(name, None, origin=_extension_file(name))
        module = _imp.create_dynamic(spec)
        _imp.exec_dynamic(module)
    # A module of the old, single-phase kind puts itself in sys.modules.
    if sys.modules.get(name) is module:
        del sys.modules[name]
    return module


def _extension_file(name):
    """The extension file an import of name finds on sys.path, looked for
    by name rather than through the path hooks, whose finders would stay
    cached for the program."""
    for folder in sys.path:
        if not folder.startswith("/"):
            continue  # the working folder: not where the standard library is
        for suffix in _imp.extension_suffixes():
            path = f"{folder}/{name}{suffix}"
            try:
                posix.stat(path)
            except OSError:
                continue
            return path
    raise ImportError(f"pyprof's Python agent needs the {name} module, and this Python has none", name=name)


# time is built in and imported by the interpreter as it starts.
_time = _quietly("time")
mmap = _quietly("mmap")


# The types callables are told apart by, taken from objects as the types
# module does, which is not imported at start-up.
class _Method:
    def method(self):
        pass


_FunctionType = type(_quietly)
_MethodType = type(_Method().method)
_BuiltinFunctionType = type(len)
_ModuleType = type(sys)
_METHOD_DESCRIPTORS = (type(str.join), type(dict.__dict__["fromkeys"]), type(object.__init__))

WIRE_MAGIC = 0x3146525059505950
WIRE_VERSION = 4

HDR_SIZE = 4096
HDR_MAGIC = 0
HDR_VERSION = 8
HDR_NSLOTS = 12
HDR_RING_BYTES = 16
HDR_DATA_START = 24
HDR_CLOCK = 32
HDR_STATUS = 36
HDR_CONSUMER_PID = 40
HDR_AGENT_PID = 48
HDR_LOST_NO_SLOT = 56
HDR_LOST_NO_CONSUMER = 64
HDR_HEARTBEAT = 72
HDR_LOST_NO_MEMORY = 80
HDR_SLOTS_USED = 88
HDR_GAVE_UP = 96
SILENT_NS = 5000000000
HDR_ERROR = 1024
HDR_ERROR_LEN = 1024

CLOCK_TSC = 1
CLOCK_MONOTONIC = 2
STATUS_RECORDING = 1

SLOT_WRITE_POS = 0
SLOT_STATE = 8
SLOT_GENERATION = 12
SLOT_WAIT_NS = 16
SLOT_READ_POS = 64
SLOT_CTRL_SIZE = 128
DATA_ALIGN = 4096
SLOT_FREE = 0
SLOT_OWNED = 1
SLOT_CLOSED = 2

KIND_SHIFT = 60
ID_SHIFT = 40
ID_BITS = 20
SITE_SHIFT = 28
SITE_BITS = 12
DELTA_BITS = 28
SITE_NONE = 0xFFF
TAG_NONE = 0
TAG_MAX = 4094
SUB_SHIFT = 52
LEN_SHIFT = 28

K_PY_START = 1
K_PY_RESUME = 2
K_PY_THROW = 3
K_PY_RETURN = 4
K_PY_YIELD = 5
K_PY_UNWIND = 6
K_C_CALL = 7
K_C_RETURN = 8
K_C_RAISE = 9

X_THREAD = 1
X_THREAD_NAME = 2
X_CODE = 3
X_CALLABLE = 4
X_TIME = 5
X_BIG_ID = 6
X_BIG_SITE = 7

CODE_HIDDEN = 1

MAX_STRING = 4096
MAX_LINES = 65536
MAX_RECORD_SHARE = 2

REG_SIZE = 24
REG_MAGIC = 0
REG_VERSION = 8
REG_PID = 16
REG_OK = 1


def _u64(value):
    return value.to_bytes(8, "little")


def _u32(value):
    return value.to_bytes(4, "little")


def _words_of(payload):
    """payload's little-endian 64-bit words, a multiple of 8 bytes long
    (the wire format is little-endian, and so is the machine: init checks)."""
    return memoryview(payload).cast("Q").tolist()


_ticks = _time.monotonic_ns

_mem = None  # the header and the control blocks
# Words are read and written through memoryviews of native unsigned ints:
# an item store is one aligned store, so pyprof never sees a position half
# written (a slice of bytes would be stored byte by byte).
_words = None  # 64-bit words, indexed by byte offset // 8
_halves = None  # 32-bit words, indexed by byte offset // 4
_ring_bytes = 0
_mask = 0
_nslots = 0
_data_start = 0
# Rings are mapped as threads take their slots (agent.c, ring mappings):
# _maps holds, per slot, the mapping of its ring, kept for the slot's next
# thread; new ones are made from _fd, our own descriptor of the memfd,
# checked by identity (_fd_id) since the program may close it.
_maps = []
_fd = -1
_fd_id = None
_first_map = 64 << 10
_consumer_pid = 0
_consumer_is_parent = False  # pyprof started us: its death reparents us
_orphan_handler = None
_recording = False
# Non-empty from just before os.fork until after it in the parent, and for
# ever in the child; see init.
_fork_pause = set()
_hidden = frozenset()
# id(code) -> (code, its id). Keyed by identity: code objects compare equal
# when only their file or module differs (the same def in alpha/utils.py
# and beta/utils.py), and each is a function of its own. Holding the code
# keeps its address, and so its id, unique.
_code_ids = {}
_callable_ids = {}  # name -> id
_local = _thread._local()
_lock = _thread.allocate_lock()
# pyprof's socket for child processes (wire.h), an abstract name without its
# leading NUL; None when children are not followed.
_follow = None
_follow_sock = None  # our registration, open while we live
_follow_id = None  # and its (st_dev, st_ino): the program may close every fd


def _data_start_for(nslots):
    """Where slot 0's ring begins (wire.h, PYPROF_DATA_START)."""
    return HDR_SIZE + ((nslots * SLOT_CTRL_SIZE + DATA_ALIGN - 1) & ~(DATA_ALIGN - 1))


def _ctrl(index):
    return HDR_SIZE + index * SLOT_CTRL_SIZE


class _Ring:
    """One thread's view of its slot. Dropping it (the thread ended) closes
    the slot so pyprof can drain and recycle it."""

    __slots__ = (
        "slot", "index", "words", "mapped", "wpos", "limit", "last", "pending_code", "pending_site", "grow_tries",
        "__weakref__",
    )  # fmt: skip

    def __init__(self, index):
        self.index = index
        self.slot = _ctrl(index)
        _, self.words, self.mapped = _maps[index]
        self.wpos = _words[(self.slot + SLOT_WRITE_POS) >> 3]
        self.limit = _room_limit(self, _words[(self.slot + SLOT_READ_POS) >> 3])
        self.last = _ticks()
        self.pending_code = None
        self.pending_site = SITE_NONE
        self.grow_tries = 0

    def __del__(self):
        if _halves is not None and _recording_pid == posix.getpid():
            self.words = None
            _shrink(self.index)
            _halves[(self.slot + SLOT_STATE) >> 2] = SLOT_CLOSED


def _map_ring(index, size):
    """Maps size bytes of slot index's ring: (mmap, words, size), or None
    when it cannot (no address space, or our descriptor is gone)."""
    try:
        st = posix.fstat(_fd)
        if (st.st_dev, st.st_ino) != _fd_id:
            return None
        off = _data_start + index * _ring_bytes
        skew = off % mmap.ALLOCATIONGRANULARITY
        m = mmap.mmap(_fd, skew + size, mmap.MAP_SHARED, offset=off - skew)
    except (OSError, ValueError):
        return None
    return m, memoryview(m)[skew:].cast("Q"), size


def _unmap(mapping):
    m, words, _ = mapping
    words.release()
    try:
        m.close()
    except BufferError:
        pass  # a view of it is still alive somewhere; it goes with the process


def _remap(index, size):
    """Maps size bytes of slot index's ring in place of what was mapped."""
    new = _map_ring(index, size)
    if new is None:
        return False
    old, _maps[index] = _maps[index], new
    if old is not None:
        _unmap(old)
    return True


def _grow(r, need):
    """Maps more of r's ring, enough for the write position to reach need."""
    size = r.mapped
    while size < need:
        size *= 2
    if not _remap(r.index, min(size, _ring_bytes)):
        return False
    _, r.words, r.mapped = _maps[r.index]
    return True


def _shrink(index):
    """Gives back the address space of a ring whose thread ended, keeping
    _first_map bytes of it for the slot's next thread."""
    mapping = _maps[index] if index < len(_maps) else None
    if mapping is not None and mapping[2] > _first_map:
        _remap(index, _first_map)


def _room_limit(r, rpos):
    """How far the write position may go with the read position at rpos:
    to the end of what is mapped until the whole ring is, then one ring
    past rpos."""
    return r.mapped if r.mapped < _ring_bytes else rpos + _ring_bytes


_recording_pid = 0


def _add(off, n):
    _words[off >> 3] += n


def _consumer_alive():
    if _consumer_is_parent and posix.getppid() != _consumer_pid:
        return False
    try:
        posix.kill(_consumer_pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


def _consumer_silent(now, since):
    """Whether pyprof, alive, has not drained for SILENT_NS since `since`,
    when this producer last woke from a stop of its own: stopped (SIGSTOP,
    a debugger) or starved (agent.c, consumer_silent)."""
    beat = _words[HDR_HEARTBEAT >> 3]
    if beat == 0:
        return False
    beat = max(beat, since)
    return now > beat and now - beat > SILENT_NS


def _wait_for_room(r, n):
    """Blocks until n bytes fit: nothing is dropped while pyprof lives.
    Only a ring really full counts as waiting (agent.c, wait_for_room)."""
    r.limit = _room_limit(r, _words[(r.slot + SLOT_READ_POS) >> 3])
    if r.wpos + n <= r.limit:
        return True
    started = checked = last = _time.monotonic_ns()
    woke = 0
    while True:
        r.limit = _room_limit(r, _words[(r.slot + SLOT_READ_POS) >> 3])
        if r.wpos + n <= r.limit:
            _add(r.slot + SLOT_WAIT_NS, _time.monotonic_ns() - started)
            return True
        _time.sleep(0.00005)
        now = _time.monotonic_ns()
        if now - last > 1_000_000_000:
            woke = now  # a nap that took a second: this process was stopped
        last = now
        if now - checked > 100_000_000:
            checked = now
            silent = _consumer_silent(now, woke)
            if silent:
                _words[HDR_GAVE_UP >> 3] = now
            if silent or not _consumer_alive():
                # The program waited all the same (agent.c, wait_for_room).
                _add(r.slot + SLOT_WAIT_NS, now - started)
                _consumer_gone()
                return False


def _make_room(r, n):
    """Makes room for n more bytes, mapping more of the ring first when the
    write position nears the end of what is mapped. Returns 0, or the
    header counter of the events lost (agent.c, make_room)."""
    if r.wpos + n > r.mapped and r.mapped < _ring_bytes:
        tries, r.grow_tries = r.grow_tries, r.grow_tries + 1
        if tries % 1024 or not _grow(r, r.wpos + n):
            return HDR_LOST_NO_MEMORY
    r.grow_tries = 0
    return 0 if _wait_for_room(r, n) else HDR_LOST_NO_CONSUMER


def _put_words(r, words):
    n = 8 * len(words)
    if r.wpos + n > r.limit:
        lost = _make_room(r, n)
        if lost:
            _add(lost, 1)
            return
    view = r.words
    for w in words:
        view[(r.wpos & _mask) >> 3] = w
        r.wpos += 8
    _words[(r.slot + SLOT_WRITE_POS) >> 3] = r.wpos


def _put_ext(r, sub, payload):
    size = len(payload)
    if 8 + (size + 7) // 8 * 8 > _ring_bytes // MAX_RECORD_SHARE:
        # Only in a ring smaller than pyprof allows (wire.h): counted, so
        # that the profile shows what is missing.
        _add(HDR_LOST_NO_SLOT, 1)
        return
    payload += b"\0" * (-size % 8)
    words = [(sub << SUB_SHIFT) | (size << LEN_SHIFT)]
    words += _words_of(payload)
    _put_words(r, words)


def _put_hot(r, kind, ident, site):
    now = _ticks()
    delta = now - r.last
    r.last = now
    if delta >> DELTA_BITS:
        _put_ext(r, X_TIME, _u64(now))
        delta = 0
    if ident >> ID_BITS:
        _put_ext(r, X_BIG_ID, _u32(ident))
        ident = 0
    if site > SITE_NONE:
        _put_ext(r, X_BIG_SITE, _u32(site))
        site = 0
    _put_words(r, [(kind << KIND_SHIFT) | (ident << ID_SHIFT) | (site << SITE_SHIFT) | delta])
    global _since_check
    _since_check += 1
    if not _since_check & 4095:
        _check_consumer()


def _string(s):
    """s as UTF-8, a code point UTF-8 cannot carry (a lone surrogate) as
    "?", cut to MAX_STRING bytes at the end of a character."""
    b = str(s).encode("utf-8", "replace")
    if len(b) > MAX_STRING:
        cut = MAX_STRING
        while cut > 0 and b[cut] & 0xC0 == 0x80:
            cut -= 1
        b = b[:cut]
    return _u32(len(b)) + b


def _unrecorded():
    """Whether the calling thread runs code whose events must not take it a
    slot, one that nothing would ever close: _Ring.__del__, whose events
    are raised after the ending thread's locals are gone."""
    f = sys._getframe(1)
    while f is not None:
        if f.f_code is _Ring.__del__.__code__:
            return True
        f = f.f_back
    return False


def _take_slot():
    """The lowest free slot, its ring mapped: (ring, 0), or (None, the
    header counter the thread's events are lost to)."""
    with _lock:
        for i in range(_nslots):
            slot = _ctrl(i)
            if _halves[(slot + SLOT_STATE) >> 2] != SLOT_FREE:
                continue
            if _maps[i] is None:
                _maps[i] = _map_ring(i, min(_first_map, _ring_bytes))
                if _maps[i] is None:
                    return None, HDR_LOST_NO_MEMORY
            gen = _halves[(slot + SLOT_GENERATION) >> 2]
            _halves[(slot + SLOT_GENERATION) >> 2] = (gen + 1) & 0xFFFFFFFF
            _halves[(slot + SLOT_STATE) >> 2] = SLOT_OWNED
            if _halves[HDR_SLOTS_USED >> 2] <= i:
                _halves[HDR_SLOTS_USED >> 2] = i + 1
            return _Ring(i), 0
    return None, HDR_LOST_NO_SLOT


def _wait_for_slot():
    """Gives pyprof up to ~100 ms to recycle the slot of an ended thread."""
    for _ in range(1000):
        if not _consumer_alive():
            _consumer_gone()
            break
        _time.sleep(0.0001)
        r, _ = _take_slot()
        if r is not None:
            return r
    return None


def _ring():
    """The calling thread's ring, or None when it is not to record."""
    if not _recording or _fork_pause:
        return None
    r = getattr(_local, "ring", None)
    if r is not None:
        return r
    if getattr(_local, "looking", False) or _unrecorded():
        return None
    # Called from code that is not a callback (set_thread_name, for a
    # thread that found no slot at first), the calls below raise events
    # of their own, and their callbacks come back here: they record
    # nothing rather than look for a slot too (_lock is not reentrant: a
    # thread waited on itself for ever) or write before X_THREAD.
    _local.looking = True
    try:
        return _take_ring()
    finally:
        _local.looking = False


def _take_ring():
    r = getattr(_local, "ring", None)  # a callback of the calls in _ring may have taken one
    if r is not None:
        return r
    r, lost = _take_slot()
    if r is None and lost == HDR_LOST_NO_SLOT and not getattr(_local, "waited", False):
        _local.waited = True
        r = _wait_for_slot()
    if r is None:
        _add(lost, 1)
        return None
    payload = _u64(_thread.get_native_id()) + _u64(_thread.get_ident()) + _u64(r.last)
    _put_ext(r, X_THREAD, payload)
    _local.ring = r
    return r


def _line_table(code):
    rows = []
    for start, _end, line in code.co_lines():
        rows.append(_u32(start // 2) + (-1 if line is None else line).to_bytes(4, "little", signed=True))
        if len(rows) >= MAX_LINES:
            break
    return _u32(len(rows)) + b"".join(rows)


def _module_of(code):
    """The __name__ of the module code was defined in, from the globals of
    the nearest frame running it, or "" (unknown: pyprof names it from the
    file). Runs once per code object, never per event. A code event is
    raised in its code's frame, which called the callback that called
    _code_id; bootstrap.py's own PY_START callback calls py_start from a
    Python frame above it, and a region started inside running frames
    enters each of them, the region's frame many below the caller: the
    whole stack is looked at, as agent.c's module_of does. The globals
    are read as a dict even when they are a subclass of one, as the C
    agent reads them: a lookup the program overrides must not run inside
    pyprof."""
    frame = sys._getframe(2)  # the callback's frame: past this and _code_id
    while frame is not None:
        if frame.f_code is code:
            name = dict.get(frame.f_globals, "__name__")
            return name if type(name) is str else ""
        frame = frame.f_back
    return ""


def _code_id(r, code):
    entry = _code_ids.get(id(code))
    if entry is not None:
        return entry[1]
    ident = len(_code_ids) + 1
    _code_ids[id(code)] = (code, ident)
    flags = CODE_HIDDEN if code.co_filename in _hidden else 0
    payload = _u32(ident) + _u32(code.co_firstlineno) + _u32(flags)
    payload += _string(code.co_qualname) + _string(code.co_filename) + _string(_module_of(code))
    payload += _line_table(code)
    _put_ext(r, X_CODE, payload)
    return ident


def _type_name(t):
    """A type named as the repr of its methods names it: "_csv.writer",
    "_thread.lock", and "list" for the builtins (agent.c, type_name)."""
    module = getattr(t, "__module__", None)
    if type(module) is str and module != "builtins":
        return f"{module}.{t.__qualname__}"
    return t.__qualname__


_bound_owners = {}
_CLASS_METHOD = type(dict.__dict__["fromkeys"])


_TYPE_MRO = type.__dict__["__mro__"]
_TYPE_DICT = type.__dict__["__dict__"]


def _defining_type(start, name, kind):
    """The type in start's MRO whose own dictionary holds a descriptor of
    kind for name, None when none does (agent.c, defining_type); read
    through type's own descriptors, past a metaclass's __getattribute__."""
    for base in _TYPE_MRO.__get__(start):
        d = _TYPE_DICT.__get__(base).get(name)
        if type(d) is kind:
            return d.__objclass__
    return None


def _bound_owner(owner, name):
    """The name of the type that defines builtin method name, bound to
    owner: a class method by the class that defines it, also called through
    a subclass; any other method by the type whose method descriptor it is
    (agent.c, bound_owner)."""
    is_class = issubclass(type(owner), type)
    key = (owner if is_class else type(owner), name)
    got = _bound_owners.get(key)
    if got is None:
        try:
            t = None
            if is_class:
                t = _defining_type(owner, name, _CLASS_METHOD)
            if t is None:
                t = _defining_type(type(owner), name, _METHOD_DESCRIPTORS[0])
            if t is None:
                t = owner if is_class else type(owner)
        except Exception:
            t = type(owner)
        got = _type_name(t)
        if len(_bound_owners) >= 4096:
            _bound_owners.clear()  # bounded: classes made at run time go
        _bound_owners[key] = got
    return got


_TYPE_MODULE = type.__dict__["__module__"]
_TYPE_QUALNAME = type.__dict__["__qualname__"]


def _callable_name(c):
    """The name of native callable c (agent.c, callable_name). Reading a
    class's attributes can run its metaclass's code, which may raise: a
    callback must never raise into the program, so the name then comes
    from the type's own slots, which run nothing. (One function: this
    runs for every call of a native callable.)"""
    t = type(c)
    try:
        if t is _BuiltinFunctionType:
            owner = c.__self__
            if owner is None or issubclass(type(owner), _ModuleType):
                return f"{c.__module__ or 'builtins'}.{c.__name__}"
            return f"{_bound_owner(owner, c.__name__)}.{c.__name__}"
        if t in _METHOD_DESCRIPTORS:
            return f"{_type_name(c.__objclass__)}.{c.__name__}"
        if issubclass(t, type):
            return f"{_TYPE_MODULE.__get__(c)}.{_TYPE_QUALNAME.__get__(c)}"
        return f"{t.__module__}.{t.__qualname__}.__call__"
    except Exception:
        owner = c if issubclass(t, type) else t
        name = f"{_TYPE_MODULE.__get__(owner)}.{_TYPE_QUALNAME.__get__(owner)}"
        return name if owner is c else name + ".__call__"


def _callable_id(r, c):
    name = _callable_name(c)
    ident = _callable_ids.get(name)
    if ident is None:
        ident = _callable_ids[name] = len(_callable_ids) + 1
        _put_ext(r, X_CALLABLE, _u32(ident) + _string(name))
    return ident


def _unwrap(c):
    return c.__func__ if type(c) is _MethodType else c


# ---- sys.monitoring callbacks ------------------------------------------------


_frame_sites = False


def frame_sites(on):
    """Reads call sites from the caller's frame at PY_START, for recordings
    without CALL events (agent.c, frame_sites); returns whether on."""
    global _frame_sites
    _frame_sites = bool(on)
    return _frame_sites


def _frame_site(code):
    callee = sys._getframe(2)  # past this function and py_start
    caller = callee.f_back  # the nearest Python frame: C frames are skipped
    if callee.f_code is not code or caller is None or caller.f_lasti < 0:
        return SITE_NONE
    return caller.f_lasti // 2


def py_start(code, offset):
    r = _ring()
    if r is not None:
        if _frame_sites:
            site = _frame_site(code)
        else:
            # A function entered with no CALL of its own (a generator run
            # by C code iterating it, a property, __getitem__, __enter__)
            # takes its site from the caller's frame.
            site = r.pending_site if r.pending_code is code else _frame_site(code)
            r.pending_code = None
        _put_hot(r, K_PY_START, _code_id(r, code), site)


def _code_event(kind):
    def callback(code, offset, *_):
        r = _ring()
        if r is not None:
            _put_hot(r, kind, _code_id(r, code), 0)

    return callback


def _tagged_event(kind):
    """The events of a generator or coroutine frame leaving or coming back
    carry its frame tag in the site field (wire.h, PYPROF_TAG_MAX), made
    of the address of its frame object, which the generator keeps for its
    life once made: the caller of the callback is that frame."""

    def callback(code, offset, *_):
        r = _ring()
        if r is not None:
            f = _getframe(1)
            tag = _frame_tag(id(f)) if f.f_code is code else TAG_NONE
            _put_hot(r, kind, _code_id(r, code), tag)

    return callback


def _frame_tag(address):
    """A tag from 1 to 2,048 made of every bit of the address: not a
    modulo, nor a multiply alone, which give frames made at the same
    stride the same run of tags, so that two chains of generators, made
    frame after frame, could share the tag of every frame; pyprof tells
    chains apart by the tags of the frames they delegate to."""
    h = (address >> 4) * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
    h = (h ^ h >> 32) * 0xD6E8FEB86659FD93 & 0xFFFFFFFFFFFFFFFF
    return 1 + (h >> 53)


_getframe = sys._getframe
py_resume = _tagged_event(K_PY_RESUME)
py_throw = _tagged_event(K_PY_THROW)
py_return = _code_event(K_PY_RETURN)
py_yield = _tagged_event(K_PY_YIELD)
py_unwind = _code_event(K_PY_UNWIND)


def call(code, offset, callable, arg0):
    r = _ring()
    if r is None:
        return
    c = _unwrap(callable)
    if type(c) is _FunctionType:
        # Remember the call site for the PY_START that follows.
        r.pending_code = c.__code__
        r.pending_site = offset // 2
        return
    r.pending_code = None
    _put_hot(r, K_C_CALL, _callable_id(r, c), offset // 2)


def _c_event(kind):
    def callback(code, offset, callable, arg0):
        c = _unwrap(callable)
        # f(*args, **kw) raises C_RETURN for a Python function too; its CALL
        # was taken as a Python call, so this one is skipped as well.
        if type(c) is _FunctionType:
            return
        r = _ring()
        if r is not None:
            _put_hot(r, kind, _callable_id(r, c), 0)

    return callback


c_return = _c_event(K_C_RETURN)
c_raise = _c_event(K_C_RAISE)


def null(*args):
    """The null agent: registered like the others, records nothing."""


# ---- control -----------------------------------------------------------------


def _after_fork_in_child():
    # A child must never write into its parent's rings.
    global _recording, _follow_sock
    _recording = False
    _local.__dict__.clear()
    # The parent's registration is the parent's: pyprof sees a followed
    # process end when its connection closes. Only if it still is ours: a
    # daemon may have closed every descriptor and opened a file under that
    # number since.
    if _follow_sock is not None:
        try:
            st = posix.fstat(_follow_sock.fileno())
            ours = (st.st_dev, st.st_ino) == _follow_id
        except OSError:
            ours = False
        if ours:
            _follow_sock.close()
        else:
            _follow_sock.detach()
        _follow_sock = None


def _map(fd, size):
    global _mem, _words, _halves
    _mem = mmap.mmap(fd, size, mmap.MAP_SHARED)
    _words, _halves = memoryview(_mem).cast("Q"), memoryview(_mem).cast("I")


def _keep_fd(fd):
    """Makes fd the descriptor rings are mapped from, and a fresh _maps."""
    global _fd, _fd_id, _maps
    st = posix.fstat(fd)
    _fd, _fd_id, _maps = fd, (st.st_dev, st.st_ino), [None] * _nslots


def _read_header(fd):
    """The header fields init checks: magic, version, slots, ring size,
    data start, clock and the consumer's pid."""
    head = mmap.mmap(fd, HDR_SIZE, mmap.MAP_SHARED, mmap.PROT_READ)
    try:
        with memoryview(head) as view, view.cast("Q") as words, view.cast("I") as halves:
            return (
                words[HDR_MAGIC >> 3],
                halves[HDR_VERSION >> 2],
                halves[HDR_NSLOTS >> 2],
                words[HDR_RING_BYTES >> 3],
                words[HDR_DATA_START >> 3],
                halves[HDR_CLOCK >> 2],
                words[HDR_CONSUMER_PID >> 3],
            )
    finally:
        head.close()


def init(fd, hidden):
    global _ring_bytes, _mask, _nslots, _data_start, _consumer_pid, _hidden
    if sys.byteorder != "little":
        raise ValueError("the wire format is little-endian")
    magic, version, nslots, ring_bytes, data_start, clock, consumer = _read_header(fd)
    if (
        magic != WIRE_MAGIC
        or version != WIRE_VERSION
        or ring_bytes < 4096
        or ring_bytes & (ring_bytes - 1)
        or nslots < 1
        or data_start != _data_start_for(nslots)
    ):
        raise ValueError(f"shared memory does not hold pyprof wire format {WIRE_VERSION}")
    if clock != CLOCK_MONOTONIC:
        raise ValueError("the Python agent records CLOCK_MONOTONIC time only")
    global _consumer_is_parent
    _nslots, _ring_bytes, _data_start, _consumer_pid = nslots, ring_bytes, data_start, consumer
    _consumer_is_parent = consumer == posix.getppid()
    _mask = ring_bytes - 1
    # The header and the control blocks; rings are mapped as threads come,
    # from a descriptor of our own: the bootstrap closes the one it passed.
    _map(fd, data_start)
    _keep_fd(posix.dup(fd))
    _words[HDR_AGENT_PID >> 3] = posix.getpid()
    _setup(hidden)


def init_child(hidden, nslots, ring_bytes, clock, consumer_pid, socket_name):
    """Starts the agent of a new interpreter the program started: rings of
    its own with pyprof's geometry, registered on pyprof's socket. The
    twin's clock is CLOCK_MONOTONIC whatever pyprof's is; the header says so."""
    global _nslots, _ring_bytes, _mask, _consumer_pid, _consumer_is_parent, _follow
    if _mem is not None:
        raise RuntimeError("agent already initialised")
    if nslots < 1 or ring_bytes < 4096 or ring_bytes & (ring_bytes - 1) or clock not in (CLOCK_TSC, CLOCK_MONOTONIC):
        raise ValueError("bad ring geometry")
    if sys.byteorder != "little":
        raise ValueError("the wire format is little-endian")
    _nslots, _ring_bytes, _mask = nslots, ring_bytes, ring_bytes - 1
    _consumer_pid = consumer_pid
    _consumer_is_parent = consumer_pid == posix.getppid()
    _follow = socket_name
    _setup(hidden)
    _own_rings()


def _setup(hidden):
    global _hidden
    _hidden = frozenset(hidden)
    # A child must never write into its parent's rings. agent.c stops in a
    # pthread_atfork handler, before any Python code runs in the child; here
    # the hooks registered before ours (threading's) run first in the child,
    # so recording pauses just before the fork and the child inherits the
    # pause (which forked() lifts once the child has rings of its own, when
    # pyprof follows children). The pause callables are C (set methods bound
    # to their argument as a method is bound to its object; functools.partial
    # would be imported for it): they raise no events, so no frame is entered
    # without being left.
    posix.register_at_fork(
        before=_MethodType(_fork_pause.add, True),
        after_in_parent=_MethodType(_fork_pause.discard, True),
        after_in_child=_after_fork_in_child,
    )


# ---- child processes (wire.h: record --subprocesses) -----------------------------


def _write_header():
    """Lays out the header of rings this process makes itself, as pyprof's
    ring.Create does; ring.CheckHeader is the check both sides agree."""
    _halves[HDR_VERSION >> 2] = WIRE_VERSION
    _halves[HDR_NSLOTS >> 2] = _nslots
    _words[HDR_RING_BYTES >> 3] = _ring_bytes
    _words[HDR_DATA_START >> 3] = _data_start
    _halves[HDR_CLOCK >> 2] = CLOCK_MONOTONIC
    _words[HDR_CONSUMER_PID >> 3] = _consumer_pid
    _words[HDR_AGENT_PID >> 3] = posix.getpid()
    _words[HDR_MAGIC >> 3] = WIRE_MAGIC


def _registration():
    """The message that registers this process's rings (wire.h)."""
    msg = bytearray(REG_SIZE)
    msg[REG_MAGIC : REG_MAGIC + 8] = _u64(WIRE_MAGIC)
    msg[REG_VERSION : REG_VERSION + 4] = _u32(WIRE_VERSION)
    msg[REG_PID : REG_PID + 8] = _u64(posix.getpid())
    return bytes(msg)


def _register(fd):
    """Hands the memfd to pyprof and waits for its answer."""
    socket = _quietly("_socket")

    global _follow_sock, _follow_id
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        # pyprof answers within a millisecond while it records; one that
        # does not answer leaves the child unprofiled, not hung.
        s.settimeout(5)
        s.connect("\0" + _follow)
        rights = (socket.SOL_SOCKET, socket.SCM_RIGHTS, fd.to_bytes(4, "little", signed=True))
        s.sendmsg([_registration()], [rights])
        if s.recv(1) != bytes([REG_OK]):
            raise ConnectionRefusedError("pyprof did not take this process's rings")
    except BaseException:
        s.close()
        raise
    st = posix.fstat(s.fileno())
    _follow_sock, _follow_id = s, (st.st_dev, st.st_ino)


# Linux's values, for Pythons built without the names (builds made for old C
# libraries lack os.memfd_create and fcntl's seal constants). Lower case:
# upper-case names in this module are wire.h's, and a test holds them to it.
_mfd_cloexec, _mfd_allow_sealing = 1, 2
_f_add_seals, _f_seal_seal, _f_seal_shrink, _f_seal_grow = 1033, 1, 2, 4


def _memfd():
    """A memfd that can be sealed, through the C library where this Python
    has no os.memfd_create."""
    flags = _mfd_cloexec | _mfd_allow_sealing
    if hasattr(posix, "memfd_create"):
        return posix.memfd_create("pyprof-rings", flags)
    # ctypes itself would import a dozen modules (struct, sysconfig, types)
    # into the program: its C half is enough to call one C function.
    _ctypes = _quietly("_ctypes")

    class c_int(_ctypes._SimpleCData):
        _type_ = "i"

    class CFunction(_ctypes.CFuncPtr):
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = c_int

    memfd_create = CFunction(_ctypes.dlsym(_ctypes.dlopen(None), "memfd_create"))
    fd = memfd_create(b"pyprof-rings", flags)
    if fd < 0:
        raise OSError(_ctypes.get_errno(), "memfd_create failed")
    return fd


def _own_rings():
    """Makes shared memory of the current geometry for this process alone,
    registers it with pyprof, and writes there from now on."""
    fcntl = _quietly("fcntl")

    global _data_start
    old, old_maps, old_fd, old_fd_id = _mem, _maps, _fd, _fd_id
    _data_start = _data_start_for(_nslots)
    size = _data_start + _nslots * _ring_bytes  # sparse: pages come as rings are written
    fd = _memfd()
    try:
        posix.ftruncate(fd, size)
        # Sealed: pyprof maps what we send and must never fault on it.
        fcntl.fcntl(fd, _f_add_seals, _f_seal_shrink | _f_seal_grow | _f_seal_seal)
        _map(fd, _data_start)
        _write_header()
        _register(fd)
    except BaseException:
        posix.close(fd)
        raise
    # Kept, to map rings as threads come: pyprof has its own descriptor.
    _keep_fd(fd)
    for mapping in old_maps:
        if mapping is not None:
            _unmap(mapping)
    _close_if_ours(old_fd, old_fd_id)
    if old is not None:
        try:
            old.close()
        except BufferError:
            pass  # a view of it is still alive somewhere; it goes with the process


def _close_if_ours(fd, ident):
    """Closes fd if it is still the file it was: the program may have
    closed it and opened another under its number."""
    try:
        st = posix.fstat(fd)
    except OSError:
        return
    if (st.st_dev, st.st_ino) == ident:
        posix.close(fd)


def follow(socket_name):
    """Forked children register rings of their own on pyprof's socket."""
    global _follow
    _follow = socket_name


def forked(name=None):
    """Runs in a forked child, from an os.register_at_fork hook registered
    after init's: when children are followed, the child gets rings of its
    own, registered with pyprof, and records from here on with ids of its
    own; otherwise it stays unprofiled (the pause inherited from the fork
    stays). Returns whether it records; raises when it could not follow."""
    global _code_ids, _callable_ids, _lock, _recording_pid, _recording, _consumer_is_parent
    if _mem is None or _follow is None:
        return False
    _consumer_is_parent = _consumer_pid == posix.getppid()
    _code_ids, _callable_ids = {}, {}
    # Another thread of the parent may have held it at the fork.
    _lock = _thread.allocate_lock()
    _own_rings()
    _recording_pid = posix.getpid()
    _fork_pause.clear()
    _recording = True
    _halves[HDR_STATUS >> 2] = STATUS_RECORDING
    if name is not None:
        set_thread_name(name)
    return True


_since_check = 0
_last_check = 0


def _check_consumer():
    """Called every 4096 records: at most four times a second, asks whether
    pyprof lives; if it died, recording stops and the tool id is given back.
    No thread of the twin's own does this: CPython warns a program that
    forks while it has other threads."""
    global _last_check
    now = _time.monotonic_ns()
    if now - _last_check < 250_000_000:
        return
    _last_check = now
    if _recording and not _consumer_alive():
        _consumer_gone()


def _consumer_gone():
    """What every path that finds pyprof dead does: recording stops, and
    the tool id is given back, so that the program goes on as if never
    profiled instead of raising events nobody reads."""
    global _recording
    if not _recording:
        return
    _recording = False
    if _orphan_handler is not None:
        _orphan_handler()


def on_orphan(handler):
    global _orphan_handler
    _orphan_handler = handler


def start():
    global _recording, _recording_pid
    _recording_pid = posix.getpid()
    _recording = True
    _halves[HDR_STATUS >> 2] = STATUS_RECORDING


def stop():
    global _recording
    _recording = False


def set_thread_name(name):
    r = _ring()
    if r is not None:
        _put_ext(r, X_THREAD_NAME, _string(name))


def fail(status, message):
    if _mem is not None:
        b = message.encode("utf-8", "replace")[: HDR_ERROR_LEN - 1] + b"\0"
        _mem[HDR_ERROR : HDR_ERROR + len(b)] = b
        _halves[HDR_STATUS >> 2] = status
