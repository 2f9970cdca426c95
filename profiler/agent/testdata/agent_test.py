"""Tests of pyprof's agent through Python: the C extension and its twin alike.

Run by profiler/agent/agent_test.go for every interpreter and both agents:

    PYPROF_TEST_AGENT=/path/to/_pyprof_agent....so python -m unittest -v agent_test

PYPROF_TEST_AGENT names the C extension or twin.py (the twin next door when
unset). PYPROF_TEST_DUMP, when set, names a file that receives the raw ring
bytes of the cross-check capture (crosscheck.py's driver), which the Go test
decodes with profiler/wire to check that both decoders read one capture alike.

The test is its own consumer: it creates the shared memory the way pyprof
does (a memfd with the header of wire.h), reads the rings and decodes the
records with the small reference decoder below. Every constant comes from
wire.h itself, parsed at start, so the test is checked against the one
definition of the format. Scenarios that need another header (a tiny ring,
a dead consumer) run in a child process: an agent is initialised once per
process.
"""

import collections
import faulthandler
import fcntl
import json
import mmap
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import types
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
THIS_FILE = os.path.abspath(__file__)
WIRE_H = os.path.join(HERE, "..", "c", "wire.h")
CROSSCHECK = os.path.join(HERE, "crosscheck.py")
AGENT_PATH = os.path.abspath(os.environ.get("PYPROF_TEST_AGENT") or os.path.join(HERE, "..", "py", "twin.py"))
IS_TWIN = AGENT_PATH.endswith(".py")
HIDDEN_FILENAME = "<pyprof-test-hidden>"

# The events and the loader are bootstrap.py's own, so the tests register
# and load the agent exactly as a recording does.
sys.path.insert(0, os.path.join(HERE, "..", "py"))
import bootstrap  # noqa: E402

EVENTS = bootstrap._EVENTS


# ---- the one definition -------------------------------------------------------


def read_wire_h(path):
    """Every `#define PYPROF_NAME value` of wire.h, as NAME -> int."""
    define = re.compile(r"^#define PYPROF_(\w+) (0x[0-9A-Fa-f]+|\d+)(?:ULL)?\b")
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = define.match(line)
            if m:
                out[m.group(1)] = int(m.group(2), 0)
    return out


WIRE = read_wire_h(WIRE_H)
W = types.SimpleNamespace(**WIRE)
KIND_NAMES = {v: k[2:] for k, v in WIRE.items() if k.startswith("K_") and k != "K_EXT"}
EXT_NAMES = {v: k for k, v in WIRE.items() if k.startswith("X_")}
ENTERS = ("PY_START", "PY_RESUME", "PY_THROW")
LEAVES = ("PY_RETURN", "PY_YIELD", "PY_UNWIND")


load_agent = bootstrap._load_agent


# ---- the consumer's side of the shared memory ---------------------------------------


# Linux's values, for Pythons whose fcntl module lacks the names (builds for
# old C libraries).
_F_GET_SEALS, _F_SEAL_SHRINK = 1034, 2


def _anonymous_file():
    """A file with no name for the rings: a memfd where this Python has
    os.memfd_create (some builds for old C libraries lack it), else an
    unnamed file in /dev/shm."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("pyprof-test-rings")
    return os.open("/dev/shm", os.O_TMPFILE | os.O_RDWR, 0o600)


def data_start(nslots):
    """Where slot 0's ring begins: wire.h's PYPROF_DATA_START."""
    return W.HDR_SIZE + ((nslots * W.SLOT_CTRL_SIZE + W.DATA_ALIGN - 1) & ~(W.DATA_ALIGN - 1))


class Rings:
    """Shared memory laid out as wire.h says, created here as pyprof creates it.
    The test maps all of it; the agents map a ring once a thread takes its slot."""

    def __init__(self, nslots, ring_bytes, consumer_pid=None, magic=None, version=None):
        self.nslots, self.ring_bytes = nslots, ring_bytes
        self.data_start = data_start(nslots)
        self.size = self.data_start + nslots * ring_bytes
        self.fd = _anonymous_file()
        os.ftruncate(self.fd, self.size)
        self.mem = mmap.mmap(self.fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        # Aligned 8- and 4-byte loads and stores, as the agents use.
        self.q = memoryview(self.mem).cast("Q")
        self.i = memoryview(self.mem).cast("I")
        self.set32(W.HDR_VERSION, W.WIRE_VERSION if version is None else version)
        self.set32(W.HDR_NSLOTS, nslots)
        self.set64(W.HDR_RING_BYTES, ring_bytes)
        self.set64(W.HDR_DATA_START, self.data_start)
        self.set32(W.HDR_CLOCK, W.CLOCK_MONOTONIC)
        self.set64(W.HDR_CONSUMER_PID, os.getpid() if consumer_pid is None else consumer_pid)
        self.set64(W.HDR_MAGIC, W.WIRE_MAGIC if magic is None else magic)

    @classmethod
    def adopt(cls, fd):
        """Maps shared memory an agent made itself (a followed child's), as
        its header describes it."""
        self = cls.__new__(cls)
        head = mmap.mmap(fd, W.HDR_SIZE, mmap.MAP_SHARED, mmap.PROT_READ)
        self.nslots = struct.unpack_from("<I", head, W.HDR_NSLOTS)[0]
        self.ring_bytes, self.data_start = struct.unpack_from("<QQ", head, W.HDR_RING_BYTES)
        head.close()
        self.fd, self.size = fd, self.data_start + self.nslots * self.ring_bytes
        self.mem = mmap.mmap(fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.q = memoryview(self.mem).cast("Q")
        self.i = memoryview(self.mem).cast("I")
        return self

    def get64(self, off):
        return self.q[off >> 3]

    def set64(self, off, v):
        self.q[off >> 3] = v

    def get32(self, off):
        return self.i[off >> 2]

    def set32(self, off, v):
        self.i[off >> 2] = v

    def slot(self, n):
        """The offset of slot n's control block."""
        return W.HDR_SIZE + n * W.SLOT_CTRL_SIZE

    def ring(self, n):
        """The offset of slot n's ring."""
        return self.data_start + n * self.ring_bytes

    def state(self, n):
        return self.get32(self.slot(n) + W.SLOT_STATE)

    def write_pos(self, n):
        return self.get64(self.slot(n) + W.SLOT_WRITE_POS)

    def read_pos(self, n):
        return self.get64(self.slot(n) + W.SLOT_READ_POS)

    def wait_ns(self, n):
        return self.get64(self.slot(n) + W.SLOT_WAIT_NS)

    def generation(self, n):
        return self.get32(self.slot(n) + W.SLOT_GENERATION)

    def error_message(self):
        raw = bytes(self.mem[W.HDR_ERROR : W.HDR_ERROR + W.HDR_ERROR_LEN])
        return raw.split(b"\0", 1)[0].decode()

    def take(self, n):
        """Consumes what slot n's producer published: returns the bytes and
        releases their room, as pyprof's ring reader does."""
        base = self.slot(n)
        write = self.get64(base + W.SLOT_WRITE_POS)
        read = self.get64(base + W.SLOT_READ_POS)
        if write - read > self.ring_bytes:
            raise AssertionError(f"slot {n}: producer overran the consumer ({write - read} bytes pending)")
        if write == read:
            return b""
        data = self.ring(n)
        start, count = read % self.ring_bytes, write - read
        if start + count <= self.ring_bytes:
            buf = bytes(self.mem[data + start : data + start + count])
        else:
            head = self.ring_bytes - start
            buf = bytes(self.mem[data + start : data + self.ring_bytes]) + bytes(self.mem[data : data + count - head])
        self.set64(base + W.SLOT_READ_POS, write)
        return buf

    def free(self, n):
        """Makes a drained CLOSED slot available again (ring.Slot.Free)."""
        base = self.slot(n)
        self.set64(base + W.SLOT_WRITE_POS, 0)
        self.set64(base + W.SLOT_READ_POS, 0)
        self.set64(base + W.SLOT_WAIT_NS, 0)
        self.set32(base + W.SLOT_STATE, W.SLOT_FREE)


# ---- the reference decoder ------------------------------------------------------


Rec = collections.namedtuple("Rec", "kind id site t info")
Code = collections.namedtuple("Code", "id qualname filename module first_line flags lines")


class DecodeError(Exception):
    pass


class Payload:
    """Reads the little-endian fields of an extended record's payload."""

    def __init__(self, b):
        self.b, self.off = b, 0

    def take(self, n):
        if self.off + n > len(self.b):
            raise DecodeError(f"payload of {len(self.b)} bytes too short")
        out = self.b[self.off : self.off + n]
        self.off += n
        return out

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def i32(self):
        return struct.unpack("<i", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def string(self):
        return self.take(self.u32()).decode("utf-8")

    def done(self):
        if self.off != len(self.b):
            raise DecodeError(f"{len(self.b) - self.off} bytes left in the payload")


class Defs:
    """Definitions of one process: code and callable ids are process-wide and
    may be defined in another thread's ring than the one that uses them."""

    def __init__(self):
        self.codes = {}
        self.callables = {}
        self.code_definitions = collections.Counter()  # (qualname, filename, first line) -> X_CODE records

    def name(self, rec):
        if rec.kind.startswith("PY_"):
            code = self.codes.get(rec.id)
            return code.qualname if code else f"?code{rec.id}"
        return self.callables.get(rec.id, f"?callable{rec.id}")

    def code_of(self, function):
        """The X_CODE definition of a Python function's code object."""
        co = function.__code__
        for code in self.codes.values():
            if (code.qualname, code.filename, code.first_line) == (co.co_qualname, co.co_filename, co.co_firstlineno):
                return code
        return None


class Stream:
    """Decodes one ring's records in order, strictly: any deviation from
    wire.h is an error, not something to tolerate."""

    def __init__(self, defs):
        self.defs = defs
        self.reset()

    def reset(self):
        self.now = None
        self.tid = None
        self.big_id = self.big_site = None

    def feed(self, buf):
        if len(buf) % 8:
            raise DecodeError(f"{len(buf)} bytes: records are whole words")
        out, off = [], 0
        while off < len(buf):
            (w,) = struct.unpack_from("<Q", buf, off)
            off += 8
            delta = w & ((1 << W.DELTA_BITS) - 1)
            kind = w >> W.KIND_SHIFT
            if kind == W.K_EXT:
                sub = (w >> W.SUB_SHIFT) & 0xFF
                size = (w >> W.LEN_SHIFT) & ((1 << W.LEN_BITS) - 1)
                padded = (size + 7) & ~7
                if off + padded > len(buf):
                    raise DecodeError(f"extended record {sub} runs past the end")
                payload, pad = buf[off : off + size], buf[off + size : off + padded]
                off += padded
                if pad.strip(b"\0"):
                    raise DecodeError("padding is not zero")
                out.append(self.ext(sub, delta, Payload(payload)))
            else:
                out.append(self.hot(kind, w, delta))
        return out

    def advance(self, delta):
        if self.now is None:
            raise DecodeError("record before X_THREAD")
        self.now += delta

    def hot(self, kind, w, delta):
        if kind not in KIND_NAMES:
            raise DecodeError(f"unknown kind {kind}")
        self.advance(delta)
        ident = (w >> W.ID_SHIFT) & ((1 << W.ID_BITS) - 1)
        site = (w >> W.SITE_SHIFT) & ((1 << W.SITE_BITS) - 1)
        if self.big_id is not None:
            if ident:
                raise DecodeError("id field set after X_BIG_ID")
            ident, self.big_id = self.big_id, None
        if self.big_site is not None:
            if site:
                raise DecodeError("site field set after X_BIG_SITE")
            site, self.big_site = self.big_site, None
        elif site == W.SITE_NONE:
            site = None
        return Rec(KIND_NAMES[kind], ident, site, self.now, None)

    def ext(self, sub, delta, p):
        if sub not in EXT_NAMES:
            raise DecodeError(f"unknown extended record {sub}")
        name = EXT_NAMES[sub]
        if sub == W.X_THREAD:
            if delta:
                raise DecodeError("X_THREAD with a delta")
            tid, ident, ticks = p.u64(), p.u64(), p.u64()
            self.now, self.tid, info = ticks, tid, (tid, ident)
        else:
            self.advance(delta)
            info = self.ext_info(sub, p)
        p.done()
        return Rec(name, 0, None, self.now, info)

    def ext_info(self, sub, p):
        if sub == W.X_THREAD_NAME:
            return p.string()
        if sub == W.X_CODE:
            return self.code(p)
        if sub == W.X_CALLABLE:
            ident, name = p.u32(), p.string()
            if ident in self.defs.callables:
                raise DecodeError(f"callable {ident} defined twice")
            self.defs.callables[ident] = name
            return (ident, name)
        if sub == W.X_TIME:
            t = p.u64()
            if t < self.now:
                raise DecodeError(f"X_TIME goes back from {self.now} to {t}")
            self.now = t
            return t
        if sub == W.X_BIG_ID:
            self.big_id = p.u32()
            return self.big_id
        self.big_site = p.u32()
        return self.big_site

    def code(self, p):
        ident, first, flags = p.u32(), p.u32(), p.u32()
        qualname, filename, module = p.string(), p.string(), p.string()
        lines = [(p.u32(), p.i32()) for _ in range(p.u32())]
        code = Code(ident, qualname, filename, module, first, flags, lines)
        if ident in self.defs.codes:
            raise DecodeError(f"code {ident} defined twice")
        self.defs.codes[ident] = code
        self.defs.code_definitions[(qualname, filename, first)] += 1
        return code


def decode_all(buf):
    """Decodes one whole ring's bytes into its records and definitions."""
    defs = Defs()
    return Stream(defs).feed(buf), defs


def short(name):
    """A qualname without its enclosing test function: 'scenario', 'K.m'."""
    return name.rpartition("<locals>.")[2]


def readable(defs, recs):
    """Hot records as (KIND, short name) pairs."""
    return [(r.kind, short(defs.name(r))) for r in recs if not r.kind.startswith("X_")]


# ---- recording in this process --------------------------------------------------


def free_tool_id(*preferred):
    for tool in (*preferred, 0, 1, 2, 3, 4, 5):
        if sys.monitoring.get_tool(tool) is None:
            return tool
    raise RuntimeError("every sys.monitoring tool id is taken")


def register(tool, callback_of):
    """Registers callback_of(callback name) for every event of EVENTS under
    tool; returns the event set."""
    events = 0
    for event_name, name in EVENTS:
        event = getattr(sys.monitoring.events, event_name)
        sys.monitoring.register_callback(tool, event, callback_of(name))
        events |= event
    return events


def claim(agent, tool):
    """Takes tool and registers the agent's callbacks as bootstrap.py does;
    returns the event set."""
    sys.monitoring.use_tool_id(tool, "pyprof-test")
    return register(tool, lambda name: getattr(agent, name))


def release(tool):
    """Frees the tool id in the order that really frees it: events off and
    callbacks unregistered before the id itself."""
    sys.monitoring.set_events(tool, 0)
    register(tool, lambda name: None)
    sys.monitoring.free_tool_id(tool)


class Capture:
    """What one recording wrote: records by slot, since its start."""

    def __init__(self, session, by_slot, t0, t1, calls):
        self.session, self.by_slot, self.t0, self.t1, self.calls = session, by_slot, t0, t1, calls
        self.defs = session.defs

    def main(self):
        return self.by_slot.get(self.session.main_slot, [])

    def slot_of(self, tid):
        for n, stream in enumerate(self.session.streams):
            if stream.tid == tid:
                return n
        return None

    def span(self, function, recs=None):
        """Hot records of the main thread from function's first start to its
        last leave: the scenario without the recording harness around it."""
        recs = self.main() if recs is None else recs
        code = self.defs.code_of(function)
        if code is None:
            raise AssertionError(f"no X_CODE for {function.__qualname__}")
        hot = [r for r in recs if not r.kind.startswith("X_")]
        first = next(i for i, r in enumerate(hot) if r.kind == "PY_START" and r.id == code.id)
        last = max(i for i, r in enumerate(hot) if r.kind in LEAVES and r.id == code.id)
        return hot[first : last + 1]

    def seq(self, recs):
        return readable(self.defs, recs)

    def sites(self, caller, callee):
        """Call-site offsets in code units that sys.monitoring reported for
        calls of callee made by caller, in order."""
        return [offset // 2 for code, offset, c in self.calls if code is caller.__code__ and unwrap(c) is unwrap(callee)]


def unwrap(c):
    return c.__func__ if isinstance(c, types.MethodType) else c


class Session:
    """The agent of this process, its shared memory and the test's consumer."""

    def __init__(self, agent, rings):
        self.agent, self.rings = agent, rings
        self.defs = Defs()
        self.streams = [Stream(self.defs) for _ in range(rings.nslots)]
        self.history = [[] for _ in range(rings.nslots)]
        self.tool = free_tool_id(2)
        self.events = claim(agent, self.tool)
        self.checker = free_tool_id(self.tool + 1)
        sys.monitoring.use_tool_id(self.checker, "pyprof-test-checker")
        self.main_slot = None

    def close(self):
        release(self.tool)
        sys.monitoring.register_callback(self.checker, sys.monitoring.events.CALL, None)
        sys.monitoring.free_tool_id(self.checker)

    def drain(self):
        """Consumes and decodes every slot; returns the new records by slot."""
        out = {}
        for n, stream in enumerate(self.streams):
            buf = self.rings.take(n)
            if buf:
                recs = stream.feed(buf)
                self.history[n].extend(recs)
                out[n] = recs
        return out

    def recycle(self):
        """Drains and frees CLOSED slots; returns their numbers."""
        self.drain()
        closed = [n for n in range(self.rings.nslots) if self.rings.state(n) == W.SLOT_CLOSED]
        for n in closed:
            self.rings.free(n)
            self.streams[n].reset()
        return closed

    def record(self, function, calls=False, callbacks=None):
        """Runs function with the agent's events on and returns what it wrote.
        calls=True also records every CALL event in Python (the checker tool)
        so call sites can be compared with what sys.monitoring reports;
        callbacks replaces the agent's callbacks for this recording."""
        self.drain()
        seen = []
        if calls:

            def on_call(code, offset, callable, arg0):
                seen.append((code, offset, callable))

            sys.monitoring.register_callback(self.checker, sys.monitoring.events.CALL, on_call)
            sys.monitoring.set_events(self.checker, sys.monitoring.events.CALL)
        if callbacks is not None:
            register(self.tool, lambda name: callbacks)
        t0 = time.monotonic_ns()
        sys.monitoring.set_events(self.tool, self.events)
        try:
            function()
        finally:
            sys.monitoring.set_events(self.tool, 0)
            sys.monitoring.set_events(self.checker, 0)
            t1 = time.monotonic_ns()
            if callbacks is not None:
                register(self.tool, lambda name: getattr(self.agent, name))
        return Capture(self, self.drain(), t0, t1, seen)


AGENT = None
S = None


def setUpModule():
    global AGENT, S
    # A producer waiting for a consumer that never comes would hang the run:
    # fail loudly instead.
    faulthandler.dump_traceback_later(60, exit=True)
    AGENT = load_agent(AGENT_PATH)
    # 64 KiB: the largest drain between two recordings here is about 10 KiB.
    rings = Rings(nslots=16, ring_bytes=1 << 16)
    AGENT.init(rings.fd, {AGENT_PATH, HIDDEN_FILENAME})
    AGENT.start()
    S = Session(AGENT, rings)
    AGENT.set_thread_name("MainThread")
    S.main_slot = next(n for n in range(rings.nslots) if rings.state(n) == W.SLOT_OWNED)
    S.drain()


def tearDownModule():
    if S is not None:
        S.close()
        S.agent.stop()
    faulthandler.cancel_dump_traceback_later()


# ---- scenarios shared by several tests ----------------------------------------------


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def fib_calls(n):
    return 1 if n < 2 else 1 + fib_calls(n - 1) + fib_calls(n - 2)


class WireTest(unittest.TestCase):
    """The test's own reading of wire.h, and the agents' copies of it."""

    def test_wire_h_parsed(self):
        self.assertGreaterEqual(len(WIRE), 50)
        self.assertEqual(W.WIRE_MAGIC.to_bytes(8, "little"), b"PYPYPRF1")
        self.assertEqual(W.DELTA_BITS, W.SITE_SHIFT)
        self.assertEqual(W.SITE_SHIFT + W.SITE_BITS, W.ID_SHIFT)
        self.assertEqual(W.ID_SHIFT + W.ID_BITS, W.KIND_SHIFT)
        self.assertEqual(W.SITE_NONE, (1 << W.SITE_BITS) - 1)

    def test_agent_constants_match_wire_h(self):
        if not IS_TWIN:
            self.assertEqual(AGENT.WIRE_VERSION, W.WIRE_VERSION)
            return
        mine = {k: v for k, v in vars(AGENT).items() if k.isupper() and type(v) is int}
        self.assertGreaterEqual(len(mine), 40)
        for name, value in sorted(mine.items()):
            with self.subTest(name=name):
                self.assertIn(name, WIRE, "the twin defines a constant wire.h does not")
                self.assertEqual(value, WIRE[name])

    def test_header_fields_written_by_agent(self):
        r = S.rings
        self.assertEqual(r.get32(W.HDR_STATUS), W.STATUS_RECORDING)
        self.assertEqual(r.get64(W.HDR_AGENT_PID), os.getpid())
        self.assertEqual(r.get64(W.HDR_LOST_NO_SLOT), 0)
        self.assertEqual(r.get64(W.HDR_LOST_NO_CONSUMER), 0)

    def test_fail_writes_status_and_message(self):
        r = S.rings
        try:
            AGENT.fail(W.STATUS_ERROR, "x" * 5000)
            self.assertEqual(r.error_message(), "x" * (W.HDR_ERROR_LEN - 1))
            AGENT.fail(W.STATUS_TOOL_TAKEN, "tool id 2 is already used by 'cProfile'")
            self.assertEqual(r.get32(W.HDR_STATUS), W.STATUS_TOOL_TAKEN)
            self.assertEqual(r.error_message(), "tool id 2 is already used by 'cProfile'")
        finally:
            r.set32(W.HDR_STATUS, W.STATUS_RECORDING)

    def test_init_refuses_bad_header(self):
        out = run_scenario("bad_header")
        self.assertEqual(out["refused"], ["magic", "version", "ring_not_power_of_two", "ring_too_small"])


class EventTest(unittest.TestCase):
    """Exact event sequences, each scenario between its own start and leave."""

    def test_plain_call_and_site(self):
        def callee():
            return 1

        def scenario():
            callee()
            return callee()

        cap = S.record(scenario, calls=True)
        ev = cap.span(scenario)
        self.assertEqual(
            cap.seq(ev),
            [("PY_START", "scenario"), ("PY_START", "callee"), ("PY_RETURN", "callee")] * 1
            + [("PY_START", "callee"), ("PY_RETURN", "callee"), ("PY_RETURN", "scenario")],
        )
        want = cap.sites(scenario, callee)
        self.assertEqual(len(set(want)), 2)
        self.assertEqual([r.site for r in ev if r.kind == "PY_START" and r.id == cap.defs.code_of(callee).id], want)
        self.assertEqual([r.site for r in ev if r.kind in LEAVES], [0, 0, 0])

    def test_recursion(self):
        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)

        def scenario():
            fact(4)

        cap = S.record(scenario, calls=True)
        ev = cap.span(scenario)
        self.assertEqual(
            cap.seq(ev),
            [("PY_START", "scenario")] + [("PY_START", "fact")] * 4 + [("PY_RETURN", "fact")] * 4 + [("PY_RETURN", "scenario")],
        )
        outer, inner = cap.sites(scenario, fact), cap.sites(fact, fact)
        self.assertEqual(len(outer), 1)
        self.assertEqual(len(inner), 3)
        self.assertEqual(len(set(inner)), 1)
        self.assertEqual([r.site for r in ev if r.kind == "PY_START"][1:], outer + inner)

    def test_generator(self):
        def gen():
            yield 1
            yield 2

        def scenario():
            for _ in gen():
                pass

        cap = S.record(scenario)
        self.assertEqual(
            cap.seq(cap.span(scenario)),
            [
                ("PY_START", "scenario"),
                ("PY_START", "gen"),
                ("PY_YIELD", "gen"),
                ("PY_RESUME", "gen"),
                ("PY_YIELD", "gen"),
                ("PY_RESUME", "gen"),
                ("PY_RETURN", "gen"),
                ("PY_RETURN", "scenario"),
            ],
        )

    def test_generator_throw(self):
        def gen():
            try:
                yield 1
            except KeyError:
                yield 2

        def scenario():
            g = gen()
            next(g)
            g.throw(KeyError)
            next(g, None)

        cap = S.record(scenario)
        self.assertEqual(
            cap.seq(cap.span(scenario)),
            [
                ("PY_START", "scenario"),
                ("C_CALL", "builtins.next"),
                ("PY_START", "gen"),
                ("PY_YIELD", "gen"),
                ("C_RETURN", "builtins.next"),
                ("C_CALL", "generator.throw"),
                ("PY_THROW", "gen"),
                ("PY_YIELD", "gen"),
                ("C_RETURN", "generator.throw"),
                ("C_CALL", "builtins.next"),
                ("PY_RESUME", "gen"),
                ("PY_RETURN", "gen"),
                ("C_RETURN", "builtins.next"),
                ("PY_RETURN", "scenario"),
            ],
        )

    def test_frame_tags(self):
        # Two generators of one function, interleaved: every PY_YIELD,
        # PY_RESUME and PY_THROW of one carries the same frame tag, and the
        # other's another (their frames live at two addresses a few
        # hundred bytes apart, which the tag's hash keeps apart).
        def gen():
            while True:
                try:
                    yield 1
                except KeyError:
                    pass

        def scenario():
            a, b = gen(), gen()
            next(a)
            next(b)
            next(b)
            next(a)
            a.throw(KeyError)
            b.close()

        cap = S.record(scenario)
        code = S.defs.code_of(gen)
        tagged = [r for r in cap.span(scenario) if r.id == code.id and r.kind in ("PY_YIELD", "PY_RESUME", "PY_THROW")]
        self.assertEqual(
            [r.kind for r in tagged],
            ["PY_YIELD", "PY_YIELD", "PY_RESUME", "PY_YIELD", "PY_RESUME", "PY_YIELD", "PY_THROW", "PY_YIELD", "PY_THROW"],
        )
        ta, tb = tagged[0].site, tagged[1].site
        self.assertEqual([r.site for r in tagged], [ta, tb, tb, tb, ta, ta, ta, ta, tb])
        self.assertNotEqual(ta, tb)
        for tag in (ta, tb):
            self.assertGreater(tag, W.TAG_NONE, "the agent sent no frame tag")
            self.assertLessEqual(tag, W.TAG_MAX)

    def test_builtin_calls(self):
        data = []

        def scenario():
            data.append(len("ab"))
            append = data.append
            append("x".upper())
            int("5")

        cap = S.record(scenario, calls=True)
        ev = cap.span(scenario)
        self.assertEqual(
            cap.seq(ev),
            [
                ("PY_START", "scenario"),
                ("C_CALL", "builtins.len"),
                ("C_RETURN", "builtins.len"),
                ("C_CALL", "list.append"),
                ("C_RETURN", "list.append"),
                ("C_CALL", "str.upper"),
                ("C_RETURN", "str.upper"),
                ("C_CALL", "list.append"),
                ("C_RETURN", "list.append"),
                ("C_CALL", "builtins.int"),
                ("C_RETURN", "builtins.int"),
                ("PY_RETURN", "scenario"),
            ],
        )
        # One id per callable definition: the method descriptor and the
        # bound builtin method of list.append are one callable.
        appends = {r.id for r in ev if cap.defs.name(r) == "list.append"}
        self.assertEqual(len(appends), 1)
        calls = [r for r in ev if r.kind == "C_CALL"]
        self.assertEqual([r.site for r in calls[:1]], cap.sites(scenario, len))
        self.assertEqual([r.site for r in calls[-1:]], cap.sites(scenario, int))
        self.assertEqual([r.site for r in ev if r.kind in ("C_RETURN", "C_RAISE")], [0] * 5)

    def test_native_methods_named_with_their_types_module(self):
        import _csv
        import _thread
        import io

        writer = _csv.writer(io.StringIO())
        lock = _thread.allocate_lock()

        def scenario():
            writer.writerow([1])
            lock.acquire()
            lock.release()
            [].append(1)

        cap = S.record(scenario, calls=True)
        names = [name for kind, name in cap.seq(cap.span(scenario)) if kind == "C_CALL"]
        self.assertEqual(names, ["_csv.writer.writerow", "_thread.lock.acquire", "_thread.lock.release", "list.append"])

    def test_native_methods_named_by_the_type_that_defines_them(self):
        """A builtin method bound to its object is named as its method
        descriptor is, whichever way it is called first: by the type that
        defines it, here a base of the object's type (random.Random is a
        Python subclass of _random.Random); a class method by the class
        that defines it, also called through a subclass; a class's own
        method by its metatype."""
        import datetime
        import random

        r = random.Random(1)
        bound = r.getrandbits

        class Sub(dict):
            pass

        def scenario():
            bound(4)
            r.getrandbits(4)
            Sub.fromkeys("ab")  # dict's, called through a subclass first
            dict.fromkeys("ab")
            datetime.datetime.now()
            int.mro()  # a method of int's type, type

        cap = S.record(scenario, calls=True)
        names = [name for kind, name in cap.seq(cap.span(scenario)) if kind == "C_CALL"]
        self.assertEqual(
            names,
            [
                "_random.Random.getrandbits",
                "_random.Random.getrandbits",
                "dict.fromkeys",
                "dict.fromkeys",
                "datetime.datetime.now",
                "type.mro",
            ],
        )

    def test_naming_runs_no_metaclass_code_that_raises(self):
        """A class whose metaclass raises on reading its attributes is
        called, and its class method too, as without pyprof: naming them
        never raises into the program."""

        class Meta(type):
            def __getattribute__(cls, name):
                if name in ("__class__", "__module__", "__qualname__", "__mro__", "__dict__"):
                    raise RuntimeError("no " + name)
                return super().__getattribute__(name)

        class Odd(dict, metaclass=Meta):
            pass

        def scenario():
            Odd.fromkeys([1])
            Odd()

        cap = S.record(scenario, calls=True)
        names = {name for kind, name in cap.seq(cap.span(scenario)) if kind == "C_CALL"}
        self.assertIn("dict.fromkeys", names)

    def test_c_calls_back_into_python(self):
        def scenario():
            return sorted([3, 1, 2], key=lambda v: -v)

        cap = S.record(scenario)
        ev = cap.span(scenario)
        self.assertEqual(
            cap.seq(ev),
            [("PY_START", "scenario"), ("C_CALL", "builtins.sorted")]
            + [("PY_START", "<lambda>"), ("PY_RETURN", "<lambda>")] * 3
            + [("C_RETURN", "builtins.sorted"), ("PY_RETURN", "scenario")],
        )
        # Called from C, with no CALL of their own: the site is read from the
        # caller's frame, at its call of sorted (the consumer files them
        # under sorted, whose frame has no lines).
        sorted_site = [r.site for r in ev if r.kind == "C_CALL"][0]
        self.assertIsNotNone(sorted_site)
        self.assertEqual([r.site for r in ev if r.kind == "PY_START"][1:], [sorted_site] * 3)

    def test_exception_raised_deep_and_caught(self):
        def level3():
            int("x")

        def level2():
            level3()

        def scenario():
            try:
                level2()
            except ValueError:
                pass

        cap = S.record(scenario)
        self.assertEqual(
            cap.seq(cap.span(scenario)),
            [
                ("PY_START", "scenario"),
                ("PY_START", "level2"),
                ("PY_START", "level3"),
                ("C_CALL", "builtins.int"),
                ("C_RAISE", "builtins.int"),
                ("PY_UNWIND", "level3"),
                ("PY_UNWIND", "level2"),
                ("PY_RETURN", "scenario"),
            ],
        )

    def test_bound_method_in_variable(self):
        class K:
            def m(self):
                return 1

        k = K()
        f = k.m

        def scenario():
            f()
            k.m()

        cap = S.record(scenario, calls=True)
        ev = cap.span(scenario)
        self.assertEqual(
            cap.seq(ev),
            [("PY_START", "scenario"), ("PY_START", "K.m"), ("PY_RETURN", "K.m")] * 1
            + [("PY_START", "K.m"), ("PY_RETURN", "K.m"), ("PY_RETURN", "scenario")],
        )
        self.assertEqual([r.site for r in ev if r.kind == "PY_START"][1:], cap.sites(scenario, K.m))

    def test_big_call_site(self):
        # A call past code unit 4095 does not fit the site field: it is sent
        # in an X_BIG_SITE record before the PY_START.
        body = "".join(f"    x = x + {i}\n" for i in range(1200))
        src = f"def big(callee):\n    x = 0\n{body}    callee()\n    return x\n"
        ns = {}
        exec(compile(src, "<pyprof-test-big>", "exec"), ns)
        big = ns["big"]

        def callee():
            pass

        cap = S.record(lambda: big(callee), calls=True)
        (site,) = cap.sites(big, callee)
        self.assertGreater(site, W.SITE_NONE)
        recs = cap.main()
        i = next(i for i, r in enumerate(recs) if r.kind == "PY_START" and cap.defs.name(r).endswith("callee"))
        self.assertEqual(recs[i].site, site)
        self.assertEqual((recs[i - 1].kind, recs[i - 1].info), ("X_BIG_SITE", site))


class DefinitionTest(unittest.TestCase):
    def test_code_defined_once_with_line_table(self):
        def twice(a):
            b = a + 1
            return b

        S.record(lambda: twice(1))
        S.record(lambda: twice(2))
        co = twice.__code__
        key = (co.co_qualname, co.co_filename, co.co_firstlineno)
        self.assertEqual(S.defs.code_definitions[key], 1)
        code = S.defs.code_of(twice)
        self.assertEqual(code.flags, 0)
        self.assertEqual(code.lines, [(start // 2, -1 if line is None else line) for start, _, line in co.co_lines()])

    def test_module_is_the_defining_modules_name(self):
        # Two modules whose files have the same name, as alpha/utils.py and
        # beta/utils.py have, a package's __init__.py, and code run in
        # globals with no __name__ (module unknown: sent empty).
        made = {}
        for module, filename in [
            ("alpha.utils", "/src/alpha/utils.py"),
            ("beta.utils", "/src/beta/utils.py"),
            ("app", "/src/app/__init__.py"),
            (None, "/src/anonymous.py"),
        ]:
            ns = {} if module is None else {"__name__": module}
            exec(compile("def helper():\n    return 1\n", filename, "exec"), ns)
            made[module] = ns["helper"]

        def scenario():
            for helper in made.values():
                helper()

        S.record(scenario)
        for module, helper in made.items():
            self.assertEqual(S.defs.code_of(helper).module, module or "", helper.__code__.co_filename)
        self.assertEqual(S.defs.code_of(scenario).module, __name__)

    def test_module_read_without_running_the_programs_code(self):
        # Globals of a dict subclass whose lookups the program overrides:
        # the agent reads the dict as a dict and runs none of them, so
        # recording neither breaks nor changes the program. A __name__
        # that is a str subclass is no module name (as for any other non-str
        # object), in both agents and in sample mode alike.
        seen = []

        class Hostile(dict):
            def get(self, key, default=None):
                seen.append(key)
                raise RuntimeError("the program's own get")

            def __getitem__(self, key):
                seen.append(key)
                raise RuntimeError("the program's own __getitem__")

        class Name(str):
            pass

        made = {}
        for label, ns in [("hostile", Hostile(__name__="plugins.hostile")), ("str subclass", {"__name__": Name("odd")})]:
            exec(compile("def helper():\n    return 1\n", "/src/" + label + ".py", "exec"), ns)
            made[label] = dict.__getitem__(ns, "helper")

        def scenario():
            for helper in made.values():
                helper()

        S.record(scenario)
        self.assertEqual(seen, [])
        self.assertEqual(S.defs.code_of(made["hostile"]).module, "plugins.hostile")
        self.assertEqual(S.defs.code_of(made["str subclass"]).module, "")

    def test_module_of_code_first_seen_resumed(self):
        # A generator started before recording is first seen at PY_RESUME,
        # in its own frame: its module is learnt there.
        ns = {"__name__": "gen.mod"}
        exec(compile("def gen():\n    yield 1\n    yield 2\n", "/src/gen/mod.py", "exec"), ns)
        g = ns["gen"]()
        next(g)
        S.record(lambda: next(g))
        self.assertEqual(S.defs.code_of(ns["gen"]).module, "gen.mod")

    def test_module_of_code_started_from_a_python_callback(self):
        # bootstrap.py hands the agent a child's first <module> from a
        # PY_START callback of its own, in Python: the module is read from
        # the frame below that callback's.
        filename = "/src/started/by/callback.py"
        code = compile("x = 1\n", filename, "exec")
        ns = {"__name__": "started.by.callback"}

        def forward(*args):
            if len(args) == 2:  # PY_START, PY_RESUME
                AGENT.py_start(*args)

        S.record(lambda: exec(code, ns), callbacks=forward)
        self.assertEqual([c.module for c in S.defs.codes.values() if c.filename == filename], ["started.by.callback"])

    def test_module_of_running_frame_entered_at_region_start(self):
        # A region started inside running frames enters each of them with
        # py_start, called from pyprof's code several frames above the
        # region's own: the module is still read from that frame.
        ns = {"__name__": "region.mod"}
        exec(compile("def region(start):\n    return start()\n", "/src/region/mod.py", "exec"), ns)
        region = ns["region"].__code__

        def enter_region_frame():
            f = sys._getframe()
            while f.f_code is not region:
                f = f.f_back
            AGENT.py_start(region, 0)

        def level(n):
            return enter_region_frame() if n == 0 else level(n - 1)

        S.drain()
        ns["region"](lambda: level(8))  # no events on: only the direct py_start
        S.drain()
        self.assertEqual(S.defs.code_of(ns["region"]).module, "region.mod")

    def test_hidden_files_flagged(self):
        ns = {}
        exec(compile("def hidden_fn():\n    return len('x')\n", HIDDEN_FILENAME, "exec"), ns)

        def shown():
            return ns["hidden_fn"]()

        S.record(shown)
        self.assertEqual(S.defs.code_of(ns["hidden_fn"]).flags & W.CODE_HIDDEN, W.CODE_HIDDEN)
        self.assertEqual(S.defs.code_of(shown).flags, 0)
        # The twin's own code, which runs when the program calls its API
        # (set_thread_name in a new thread), is pyprof's and hidden too.
        for code in S.defs.codes.values():
            if code.filename == AGENT_PATH:
                self.assertEqual(code.flags & W.CODE_HIDDEN, W.CODE_HIDDEN, code.qualname)

    def test_agents_own_functions_are_not_the_programs_calls(self):
        # pyprof calls the agent from the program's threads while their
        # events are on (it names a thread a region sees start): those
        # calls are pyprof's, never part of the program's profile.
        def scenario():
            AGENT.set_thread_name("MainThread")
            len("x")

        cap = S.record(scenario)
        hot = [r for r in cap.main() if not r.kind.startswith("X_")]
        shown = [S.defs.name(r) for r in hot if r.kind in ("C_CALL", "C_RETURN", "C_RAISE")]
        self.assertIn("builtins.len", shown, "C calls were not recorded at all")
        self.assertEqual([n for n in shown if "set_thread_name" in n], [])
        for r in hot:
            if r.kind == "PY_START" and S.defs.name(r) == "set_thread_name":
                self.assertEqual(S.defs.codes[r.id].flags & W.CODE_HIDDEN, W.CODE_HIDDEN)

    def test_null_callback_records_nothing(self):
        before = [S.rings.write_pos(n) for n in range(S.rings.nslots)]
        S.record(lambda: fib(8) and sorted([2, 1], key=lambda v: v), callbacks=AGENT.null)
        self.assertEqual([S.rings.write_pos(n) for n in range(S.rings.nslots)], before)


class TimeTest(unittest.TestCase):
    def test_timestamps_monotonic_ns_and_non_decreasing(self):
        cap = S.record(lambda: fib(12))
        recs = cap.main()
        self.assertGreater(len(recs), 400)
        times = [r.t for r in recs]
        self.assertEqual(times, sorted(times))
        # Clock 2 is CLOCK_MONOTONIC in nanoseconds: the same clock as
        # time.monotonic_ns, so every event falls inside the recording.
        # (Definitions carry no time of their own: their delta is zero.)
        hot = [r.t for r in recs if not r.kind.startswith("X_")]
        self.assertGreaterEqual(hot[0], cap.t0)
        self.assertLessEqual(hot[-1], cap.t1)

    def test_long_gap_sends_x_time(self):
        def scenario():
            time.sleep(0.3)

        cap = S.record(scenario)
        recs = cap.main()
        i = next(i for i, r in enumerate(recs) if r.kind == "C_RETURN" and cap.defs.name(r) == "time.sleep")
        self.assertEqual(recs[i - 1].kind, "X_TIME")
        call = next(r for r in recs if r.kind == "C_CALL" and cap.defs.name(r) == "time.sleep")
        self.assertGreaterEqual(recs[i].t - call.t, 300_000_000)
        self.assertEqual(recs[i].t, recs[i - 1].info)
        self.assertLessEqual(recs[i].t, cap.t1)
        self.assertEqual(cap.seq(cap.span(scenario)), [
            ("PY_START", "scenario"), ("C_CALL", "time.sleep"), ("C_RETURN", "time.sleep"), ("PY_RETURN", "scenario")])


class ThreadTest(unittest.TestCase):
    def test_threads_get_own_slots(self):
        info = {}

        def work(n):
            return sum(range(n))

        def body(i):
            info[i] = (threading.get_native_id(), threading.get_ident())
            AGENT.set_thread_name(f"worker-{i}")
            work(10)

        owned_before = {n for n in range(S.rings.nslots) if S.rings.state(n) == W.SLOT_OWNED}
        threads = [threading.Thread(target=body, args=(i,)) for i in range(3)]

        def scenario():
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        cap = S.record(scenario)
        self.assertEqual(owned_before, {S.main_slot})
        slots = {}
        for i, (tid, ident) in sorted(info.items()):
            with self.subTest(worker=i):
                n = cap.slot_of(tid)
                self.assertIsNotNone(n, f"no ring carries thread {tid}")
                slots[i] = n
                recs = cap.by_slot[n]
                self.assertEqual((recs[0].kind, recs[0].info), ("X_THREAD", (tid, ident)))
                self.assertIn(f"worker-{i}", [r.info for r in recs if r.kind == "X_THREAD_NAME"])
                self.assertEqual(
                    cap.seq(cap.span(work, recs)),
                    [
                        ("PY_START", "work"),
                        ("C_CALL", "builtins.range"),
                        ("C_RETURN", "builtins.range"),
                        ("C_CALL", "builtins.sum"),
                        ("C_RETURN", "builtins.sum"),
                        ("PY_RETURN", "work"),
                    ],
                )
        self.assertEqual(len(set(slots.values()) | {S.main_slot}), len(threads) + 1)
        self.assertNotIn("work", [n for _, n in cap.seq(cap.main())])
        # A thread that ended closes its slot, so pyprof can recycle it.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(S.rings.state(n) != W.SLOT_CLOSED for n in slots.values()):
            time.sleep(0.01)
        self.assertEqual({n: S.rings.state(n) for n in slots.values()}, {n: W.SLOT_CLOSED for n in slots.values()})
        S.drain()
        owned_after = {n for n in range(S.rings.nslots) if S.rings.state(n) == W.SLOT_OWNED}
        self.assertEqual(owned_after, {S.main_slot}, "a slot was taken and never closed")
        self.assertEqual(set(S.recycle()), set(slots.values()))
        self.assertEqual(S.rings.get64(W.HDR_LOST_NO_SLOT), 0)

    def test_main_thread_ring(self):
        recs = S.history[S.main_slot]
        self.assertEqual((recs[0].kind, recs[0].info), ("X_THREAD", (threading.get_native_id(), threading.get_ident())))
        self.assertEqual((recs[1].kind, recs[1].info), ("X_THREAD_NAME", "MainThread"))
        self.assertGreaterEqual(S.rings.generation(S.main_slot), 1)


class ForkTest(unittest.TestCase):
    def test_child_writes_nothing_into_parent_rings(self):
        def child_work():
            return sum(range(3))

        def scenario():
            pid = os.fork()
            if pid == 0:
                for _ in range(100):
                    child_work()
                t = threading.Thread(target=child_work)
                t.start()
                t.join()
                os._exit(0)
            os.waitpid(pid, 0)

        others = [S.rings.write_pos(n) for n in range(S.rings.nslots) if n != S.main_slot]
        with warnings.catch_warnings():
            # faulthandler's watchdog is a thread; forking with it is fine.
            warnings.simplefilter("ignore", DeprecationWarning)
            cap = S.record(scenario)
        self.assertEqual(others, [S.rings.write_pos(n) for n in range(S.rings.nslots) if n != S.main_slot])
        self.assertEqual(list(cap.by_slot), [S.main_slot])
        self.assertIsNone(S.defs.code_of(child_work), "the child's code was defined in the parent's rings")
        # While the parent waited, nothing came between its two records.
        self.assertEqual(
            cap.seq(cap.span(scenario)),
            [
                ("PY_START", "scenario"),
                ("C_CALL", "posix.fork"),
                ("C_RETURN", "posix.fork"),
                ("C_CALL", "posix.waitpid"),
                ("C_RETURN", "posix.waitpid"),
                ("PY_RETURN", "scenario"),
            ],
        )
        self.assertEqual(S.rings.get64(W.HDR_AGENT_PID), os.getpid())


class ChildTest(unittest.TestCase):
    """record --subprocesses: a forked child makes rings of its own and
    registers them on pyprof's socket (wire.h, child processes); the test
    plays pyprof's part."""

    def test_forked_child_registers_rings_of_its_own(self):
        name = f"pyprof-test-{os.getpid()}-{os.urandom(8).hex()}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind("\0" + name)
        listener.listen(1)
        AGENT.follow(name)

        def child_work():
            return sum(range(3))

        got = {}

        def scenario():
            pid = os.fork()
            if pid == 0:
                ok = False
                try:
                    ok = AGENT.forked("child-main")
                    for _ in range(3):
                        child_work()
                finally:
                    os._exit(0 if ok else 3)
            conn, _ = listener.accept()
            msg, fds, _, _ = socket.recv_fds(conn, W.REG_SIZE + 1, 4)
            creds = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            conn.send(bytes([W.REG_OK]))
            _, status = os.waitpid(pid, 0)
            got.update(pid=pid, msg=msg, fds=fds, creds=creds, status=status, after=conn.recv(1))
            conn.close()

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # forking with threads
                S.record(scenario)
        finally:
            listener.close()
        pid = got["pid"]
        self.assertEqual(os.waitstatus_to_exitcode(got["status"]), 0, "the child could not follow")
        self.assertEqual(got["after"], b"", "the child's connection outlived it")
        self.assertEqual(len(got["msg"]), W.REG_SIZE)
        magic, version, _, child_pid = struct.unpack("<QIIQ", got["msg"])
        self.assertEqual((magic, version, child_pid), (W.WIRE_MAGIC, W.WIRE_VERSION, pid))
        self.assertEqual(got["creds"][0], pid)
        self.assertEqual(len(got["fds"]), 1)
        fd = got["fds"][0]
        try:
            self.assertTrue(fcntl.fcntl(fd, _F_GET_SEALS) & _F_SEAL_SHRINK, "not sealed against shrinking")
            child = Rings.adopt(fd)
            # The header as pyprof writes it, with the child as the agent.
            self.assertEqual(child.get64(W.HDR_MAGIC), W.WIRE_MAGIC)
            self.assertEqual(child.get32(W.HDR_VERSION), W.WIRE_VERSION)
            self.assertEqual((child.nslots, child.ring_bytes), (S.rings.nslots, S.rings.ring_bytes))
            self.assertEqual(child.data_start, data_start(child.nslots))
            self.assertEqual(os.fstat(fd).st_size, child.size)
            self.assertEqual(child.get32(W.HDR_CLOCK), W.CLOCK_MONOTONIC)
            self.assertEqual(child.get64(W.HDR_CONSUMER_PID), os.getpid())
            self.assertEqual(child.get64(W.HDR_AGENT_PID), pid)
            self.assertEqual(child.get32(W.HDR_STATUS), W.STATUS_RECORDING)
            # Its own ids, from 1, defined in its own rings.
            defs = Defs()
            owned = [n for n in range(child.nslots) if child.state(n) != W.SLOT_FREE]
            self.assertEqual(len(owned), 1)
            recs = Stream(defs).feed(child.take(owned[0]))
            self.assertEqual((recs[0].kind, recs[0].info[0]), ("X_THREAD", pid))
            self.assertIn("child-main", [r.info for r in recs if r.kind == "X_THREAD_NAME"])
            work = defs.code_of(child_work)
            self.assertIsNotNone(work, "child_work is not defined in the child's rings")
            self.assertEqual(min(defs.codes), 1)
            starts = [r for r in recs if r.kind == "PY_START" and r.id == work.id]
            self.assertEqual(len(starts), 3)
            self.assertIsNone(S.defs.code_of(child_work), "the child's code was defined in the parent's rings")
        finally:
            os.close(fd)

    def test_new_interpreter_registers_rings_it_made(self):
        """init_child, as bootstrap.py's follow_exec calls it in a new
        interpreter: rings of pyprof's geometry, registered before anything
        is recorded. The twin counts CLOCK_MONOTONIC whatever it is asked."""
        name = f"pyprof-test-{os.getpid()}-{os.urandom(8).hex()}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind("\0" + name)
        listener.listen(1)
        listener.settimeout(20)
        env = dict(os.environ, PYPROF_TEST_SOCKET=name, PYPROF_TEST_CONSUMER=str(os.getpid()))
        proc = subprocess.Popen(
            [sys.executable, THIS_FILE, "scenario", "init_child"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        try:
            conn, _ = listener.accept()
            msg, fds, _, _ = socket.recv_fds(conn, W.REG_SIZE + 1, 4)
            conn.send(bytes([W.REG_OK]))
            out, err = proc.communicate(timeout=20)
        finally:
            listener.close()
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, 0, err)
        result = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(struct.unpack("<QIIQ", msg)[3], proc.pid)
        self.assertEqual(len(fds), 1)
        try:
            child = Rings.adopt(fds[0])
            self.assertEqual((child.nslots, child.ring_bytes, child.data_start), (2, 4096, data_start(2)))
            self.assertEqual(child.get64(W.HDR_CONSUMER_PID), os.getpid())
            self.assertEqual(child.get64(W.HDR_AGENT_PID), proc.pid)
            self.assertEqual(child.get32(W.HDR_CLOCK), W.CLOCK_MONOTONIC if IS_TWIN else result["clock"])
            defs = Defs()
            recs = Stream(defs).feed(child.take(0))
            starts = collections.Counter(short(defs.name(r)) for r in recs if r.kind == "PY_START")
            self.assertEqual(starts["fib"], fib_calls(5))
        finally:
            os.close(fds[0])


def line_at(code, unit):
    """The line of code unit `unit` of code, from co_lines."""
    for start, end, line in code.co_lines():
        if start <= 2 * unit < end:
            return line
    raise AssertionError(f"unit {unit} outside {code.co_name}")


class FrameSiteTest(unittest.TestCase):
    """record --native-calls=false: no CALL events; call sites are read from
    the caller's frame at PY_START, and must name the lines CALL names."""

    def record_without_calls(self, function):
        native = sys.monitoring.events.CALL | sys.monitoring.events.C_RETURN | sys.monitoring.events.C_RAISE
        saved = S.events
        S.events = saved & ~native
        self.assertTrue(AGENT.frame_sites(True), "the agent could not read this interpreter's frames")
        try:
            # calls=True: the checker tool, not the agent, watches CALL.
            return S.record(function, calls=True)
        finally:
            AGENT.frame_sites(False)
            S.events = saved

    def started(self, cap, ev, function):
        code = cap.defs.code_of(function)
        return [r for r in ev if r.kind == "PY_START" and r.id == code.id]

    def test_sites_name_the_call_lines(self):
        def callee(n):
            return n

        def scenario():
            callee(1)
            total = callee(2) + callee(
                3
            )
            for i in range(2):
                total += callee(i)
            return total

        cap = self.record_without_calls(scenario)
        ev = cap.span(scenario)
        self.assertFalse([r for r in ev if r.kind in ("C_CALL", "C_RETURN", "C_RAISE")])
        want = [line_at(scenario.__code__, u) for u in cap.sites(scenario, callee)]
        self.assertEqual(len(want), 5)
        got = [line_at(scenario.__code__, r.site) for r in self.started(cap, ev, callee)]
        self.assertEqual(got, want)

    def test_called_from_c_gets_the_line_of_the_native_call(self):
        # No native node is recorded: the lambda's parent is scenario, at
        # the line that called sorted.
        def scenario():
            data = [3, 1, 2]
            return sorted(
                data,
                key=lambda v: -v,
            )

        cap = self.record_without_calls(scenario)
        ev = cap.span(scenario)
        starts = [r for r in ev if r.kind == "PY_START" and cap.defs.name(r).endswith("<lambda>")]
        self.assertEqual(len(starts), 3, cap.seq(ev))
        (call,) = cap.sites(scenario, sorted)
        self.assertEqual([line_at(scenario.__code__, r.site) for r in starts], [line_at(scenario.__code__, call)] * 3)

    def test_recursion_and_generators(self):
        def fact(n):
            if n <= 1:
                return 1
            return n * fact(n - 1)

        def gen():
            yield 0
            yield fact(3)

        def scenario():
            first = list(
                gen()
            )
            return first + [fact(2)]

        cap = self.record_without_calls(scenario)
        ev = cap.span(scenario)
        f = self.started(cap, ev, fact)
        self.assertEqual(len(f), 5)  # 3 from gen (recursing twice), 2 from scenario
        recursive = line_at(fact.__code__, cap.sites(fact, fact)[0])
        self.assertEqual([line_at(fact.__code__, r.site) for r in (f[1], f[2], f[4])], [recursive] * 3)
        self.assertEqual(line_at(gen.__code__, f[0].site), line_at(gen.__code__, cap.sites(gen, fact)[0]))
        self.assertEqual(line_at(scenario.__code__, f[3].site), line_at(scenario.__code__, cap.sites(scenario, fact)[0]))
        # gen's frame starts inside list(), a native call made by scenario.
        (g,) = self.started(cap, ev, gen)
        self.assertEqual(line_at(scenario.__code__, g.site), line_at(scenario.__code__, cap.sites(scenario, list)[0]))


class RoomTest(unittest.TestCase):
    def test_wrapping_a_ring_that_never_fills_is_not_waiting(self):
        # Each recording drains before the next, so the producer refreshes
        # its view of the consumer as the ring wraps, and never has to wait:
        # the summary's "the program waited" must stay silent.
        before = S.rings.wait_ns(S.main_slot)
        wrote = 0
        while wrote < 3 * S.rings.ring_bytes:
            start = S.rings.write_pos(S.main_slot)
            S.record(lambda: fib(12))
            wrote += S.rings.write_pos(S.main_slot) - start
        self.assertEqual(S.rings.wait_ns(S.main_slot) - before, 0)


class FullRingTest(unittest.TestCase):
    def test_producer_waits_for_consumer_thread(self):
        out = run_scenario("full_ring")
        self.assertEqual(out["lost_no_consumer"], 0)
        self.assertGreater(out["lost_no_slot"], 0, "the consumer thread should have found no slot")
        self.assertGreater(out["wait_ns"], 0, "the producer never waited")
        self.assertGreater(out["written"], 4 * out["ring_bytes"], "the ring did not wrap")
        self.assertEqual(out["drained"], out["written"])
        self.assertEqual(out["written_after_stop"], out["written"], "the agent recorded after stop()")
        self.assertEqual(out["fib_starts"], fib_calls(out["n"]))
        self.assertEqual(out["fib_returns"], fib_calls(out["n"]))

    def test_producer_gives_up_without_consumer(self):
        out = run_scenario("dead_consumer")
        self.assertLess(out["elapsed"], 1.5, "the producer waited too long for a dead consumer")
        # The watchdog may stop recording before any record is dropped, so
        # the lost count is not asserted: not hanging and not writing are.
        self.assertLessEqual(out["written"], out["ring_bytes"])
        self.assertEqual(out["written_later"], out["written"], "the agent kept writing after giving up")
        self.assertTrue(out["decoded"])
        # Finding pyprof gone through a full ring gives the tool id back,
        # as the periodic check does: the program is no longer traced.
        self.assertEqual(out["orphaned"], ["pyprof-test"], "the orphan handler was not called once")
        self.assertIsNone(out["tool_after"], "the tool id stayed taken after pyprof died")


    def test_producer_gives_up_on_a_silent_consumer(self):
        """A consumer that lives but has not drained for SILENT_NS (stopped,
        or starved of CPU) would hold the program as long as that lasts:
        the producer stops recording, says when in the header, and the
        program runs on untraced."""
        out = run_scenario("silent_consumer")
        self.assertLess(out["elapsed"], 1.5, "the producer waited too long for a silent consumer")
        self.assertGreater(out["gave_up_after_beat"], out["silent_ns"], "the header does not say when it gave up")
        self.assertEqual(out["orphaned"], ["pyprof-test"], "the orphan handler was not called once")
        self.assertIsNone(out["tool_after"], "the tool id stayed taken")


class OversizedRecordTest(unittest.TestCase):
    def test_definition_too_big_for_the_ring_is_counted_lost(self):
        """pyprof refuses rings too small for the largest definition; an
        agent given one anyway must count what it cannot write, so that the
        profile shows it missing, and not wait for room that never comes."""
        out = run_scenario("oversized_definition")
        self.assertGreater(out["record_bytes"], out["ring_bytes"] // W.MAX_RECORD_SHARE)
        self.assertEqual(out["lost_no_slot"], 1, "the definition was dropped without a count")
        self.assertEqual(out["wait_ns"], 0)


class RingMappingTest(unittest.TestCase):
    """The agent maps a ring only once a thread takes its slot, as far as
    the thread writes, and gives the address space back when it ends."""

    @classmethod
    def setUpClass(cls):
        cls.out = run_scenario("ring_mappings")

    def test_rings_are_mapped_as_written(self):
        out = self.out
        first = 64 << 10
        self.assertEqual(out["before_threads"], {"0": first}, "rings mapped before their threads came")
        # 350 KiB written: 512 KiB mapped of a 1 MiB ring.
        self.assertEqual(out["busy_running"], 512 << 10)
        self.assertEqual(out["busy_ended"], first, "the ring of a thread that ended was not shrunk")
        self.assertEqual(out["idle"], first)
        self.assertEqual(out["slots_used"], 3)
        self.assertEqual(out["lost_no_slot"], 0)

    def test_rings_without_the_agents_descriptor(self):
        """A program that closes every descriptor it did not open (a daemon)
        closes the agent's too: the C agent maps new rings from the
        header's mapping, the twin cannot and counts the events lost."""
        out = self.out
        if IS_TWIN:
            self.assertFalse(out["daemon_recorded"])
            self.assertGreater(out["lost_no_memory"], 0)
        else:
            self.assertTrue(out["daemon_recorded"])
            self.assertEqual(out["lost_no_memory"], 0)


class CrossCheckTest(unittest.TestCase):
    def test_crosscheck_capture(self):
        out = run_scenario("crosscheck")
        self.assertEqual(out["first"], "X_THREAD")
        counts = collections.Counter(tuple(e) for e in out["driver"] if e[0] in ("PY_START", "C_CALL"))
        self.assertEqual(
            counts,
            {
                ("PY_START", "driver"): 1,
                ("PY_START", "leaf"): 4,
                ("PY_START", "helper"): 1,
                ("PY_START", "<lambda>"): 3,
                ("C_CALL", "builtins.range"): 1,
                ("C_CALL", "builtins.len"): 1,
                ("C_CALL", "builtins.sorted"): 1,
            },
        )


# ---- scenarios that need their own process -------------------------------------------


def run_scenario(name):
    """Runs this file as `agent_test.py scenario NAME` and returns its JSON."""
    proc = subprocess.run(
        [sys.executable, THIS_FILE, "scenario", name], capture_output=True, text=True, timeout=30, env=os.environ
    )
    if proc.returncode != 0:
        raise AssertionError(f"scenario {name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start_agent(rings):
    agent = load_agent(AGENT_PATH)
    agent.init(rings.fd, {AGENT_PATH, THIS_FILE})
    agent.start()
    agent.set_thread_name("MainThread")  # takes slot 0 before anything else runs
    tool = free_tool_id(2)
    return agent, tool, claim(agent, tool)


def run_monitored(tool, events, function):
    """Runs function with events on. The frame that turns them off again is
    entered after monitoring began and is hidden (this file is), so a tree
    built from the capture has function as its one root."""
    sys.monitoring.set_events(tool, events)
    _monitored(tool, function)


def _monitored(tool, function):
    function()
    sys.monitoring.set_events(tool, 0)


def scenario_bad_header():
    refused = []
    for what, kwargs in [
        ("magic", dict(magic=W.WIRE_MAGIC + 1)),
        ("version", dict(version=W.WIRE_VERSION + 1)),
        ("ring_not_power_of_two", dict(ring_bytes=3 * 4096)),
        ("ring_too_small", dict(ring_bytes=2048)),
    ]:
        agent = load_agent(AGENT_PATH)
        rings = Rings(nslots=1, ring_bytes=kwargs.pop("ring_bytes", 4096), **kwargs)
        try:
            agent.init(rings.fd, set())
        except ValueError:
            refused.append(what)
    return {"refused": refused}


def scenario_full_ring():
    """A 4 KiB ring drained by a Python thread: the producer must wait for it
    and lose nothing. One slot only, so the consumer thread, whose own
    events have no ring, never waits for itself."""
    n = 16
    rings = Rings(nslots=1, ring_bytes=4096)
    agent, tool, events = start_agent(rings)
    chunks, done = [], threading.Event()

    def consume():
        while True:
            finished = done.is_set()
            buf = rings.take(0)
            if buf:
                chunks.append(buf)
            elif finished:
                return
            time.sleep(0.0002)

    consumer = threading.Thread(target=consume)
    consumer.start()
    run_monitored(tool, events, lambda: fib(n))
    done.set()
    consumer.join()
    data = b"".join(chunks)
    written = rings.write_pos(0)
    agent.stop()
    run_monitored(tool, events, lambda: fib(5))
    written_after_stop = rings.write_pos(0)
    recs, defs = decode_all(data)
    starts = collections.Counter(short(defs.name(r)) for r in recs if r.kind == "PY_START")
    returns = collections.Counter(short(defs.name(r)) for r in recs if r.kind == "PY_RETURN")
    return {
        "n": n,
        "ring_bytes": rings.ring_bytes,
        "written": written,
        "written_after_stop": written_after_stop,
        "drained": len(data),
        "wait_ns": rings.wait_ns(0),
        "lost_no_slot": rings.get64(W.HDR_LOST_NO_SLOT),
        "lost_no_consumer": rings.get64(W.HDR_LOST_NO_CONSUMER),
        "fib_starts": starts["fib"],
        "fib_returns": returns["fib"],
    }


def fill_undrained(rings):
    """Starts the agent on rings and records fib(16) into them, which no
    consumer drains: returns the agent, its tool id, how long the recording
    took, the owners of the tool id the orphan handler found (once each
    time it ran) and the tool id's owner afterwards."""
    agent, tool, events = start_agent(rings)
    orphaned = []

    def give_back():
        orphaned.append(sys.monitoring.get_tool(tool))
        release(tool)

    agent.on_orphan(give_back)
    t0 = time.monotonic()
    sys.monitoring.set_events(tool, events)
    fib(16)
    elapsed = time.monotonic() - t0
    fib(5)  # the C agent's handler is a pending call: it runs between instructions
    tool_after = sys.monitoring.get_tool(tool)
    if tool_after is not None:
        sys.monitoring.set_events(tool, 0)
        release(tool)
    return agent, tool, elapsed, orphaned, tool_after


def scenario_dead_consumer():
    """The consumer's pid is a reaped child's: nobody will ever make room."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    rings = Rings(nslots=1, ring_bytes=4096, consumer_pid=pid)
    agent, tool, elapsed, orphaned, tool_after = fill_undrained(rings)
    written = rings.write_pos(0)
    # Claimed again, as by a program that profiles itself: the agent that
    # gave up must still write nothing.
    run_monitored(tool, claim(agent, tool), lambda: fib(10))
    decoded = True
    try:
        decode_all(rings.take(0))
    except DecodeError:
        decoded = False
    return {
        "elapsed": elapsed,
        "ring_bytes": rings.ring_bytes,
        "written": written,
        "written_later": rings.write_pos(0),
        "lost_no_consumer": rings.get64(W.HDR_LOST_NO_CONSUMER),
        "decoded": decoded,
        "orphaned": orphaned,
        "tool_after": tool_after,
    }


def scenario_silent_consumer():
    """The consumer lives (it is this process) but its heartbeat is older
    than SILENT_NS: stopped, as by SIGSTOP, it will not make room soon."""
    rings = Rings(nslots=1, ring_bytes=4096, consumer_pid=os.getpid())
    silent_since = time.monotonic_ns() - W.SILENT_NS - 1_000_000_000
    rings.set64(W.HDR_HEARTBEAT, silent_since)
    _, _, elapsed, orphaned, tool_after = fill_undrained(rings)
    return {
        "elapsed": elapsed,
        "gave_up_after_beat": rings.get64(W.HDR_GAVE_UP) - silent_since,
        "silent_ns": W.SILENT_NS,
        "orphaned": orphaned,
        "tool_after": tool_after,
    }


def scenario_oversized_definition():
    """A 4 KiB ring and a function whose qualified name takes more than
    half of it: its definition cannot be written."""
    rings = Rings(nslots=1, ring_bytes=4096)
    agent, tool, events = start_agent(rings)
    name = "f" + "x" * (rings.ring_bytes // 2)
    ns = {"__name__": "oversized"}
    exec(compile(f"def {name}():\n    return 1\n", "/src/oversized.py", "exec"), ns)
    run_monitored(tool, events, ns[name])
    return {
        "ring_bytes": rings.ring_bytes,
        "record_bytes": 8 + 12 + 4 + len(name),
        "lost_no_slot": rings.get64(W.HDR_LOST_NO_SLOT),
        "wait_ns": rings.wait_ns(0),
    }


def scenario_init_child():
    """A new interpreter's agent, registering with the test as with pyprof."""
    clock = W.CLOCK_TSC if os.uname().machine in ("x86_64", "i686") else W.CLOCK_MONOTONIC
    agent = load_agent(AGENT_PATH)
    consumer = int(os.environ["PYPROF_TEST_CONSUMER"])
    agent.init_child({AGENT_PATH, THIS_FILE}, 2, 4096, clock, consumer, os.environ["PYPROF_TEST_SOCKET"])
    agent.start()
    agent.set_thread_name("MainThread")
    tool = free_tool_id(2)
    run_monitored(tool, claim(agent, tool), lambda: fib(5))
    return {"clock": clock}


def ring_mappings(rings):
    """The agent's mappings of each slot's ring, from /proc/self/maps, as
    slot -> bytes of the ring mapped."""
    out = {}
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            # Matched by inode, not name: without os.memfd_create the rings
            # are an unnamed file in /dev/shm (see _anonymous_file).
            if len(fields) < 6 or int(fields[4]) != os.fstat(rings.fd).st_ino:
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            offset = int(fields[2], 16)
            if offset == 0:
                continue  # the header's, or the test's mapping of it all
            slot = -(-(offset - rings.data_start) // rings.ring_bytes)  # the mapping may start a page early
            skew = rings.ring(slot) - offset
            out[str(slot)] = out.get(str(slot), 0) + end - start - skew
    return out


def wait_closed(rings, slot):
    deadline = time.monotonic() + 5
    while rings.state(slot) != W.SLOT_CLOSED and time.monotonic() < deadline:
        time.sleep(0.001)


def scenario_ring_mappings():
    """Threads in turn with 1 MiB rings: a busy one, an idle one, then one
    after the program closed the agent's descriptor (a daemon)."""
    rings = Rings(nslots=8, ring_bytes=1 << 20)
    agent, tool, events = start_agent(rings)
    out = {"before_threads": ring_mappings(rings)}
    sys.monitoring.set_events(tool, events)

    def busy():
        fib(20)  # about 350 KiB of records
        out["busy_running"] = ring_mappings(rings)["1"]

    def run(target):
        t = threading.Thread(target=target)
        t.start()
        t.join()

    run(busy)
    wait_closed(rings, 1)
    run(lambda: fib(2))
    wait_closed(rings, 2)
    sys.monitoring.set_events(tool, 0)
    mapped = ring_mappings(rings)
    out.update(busy_ended=mapped["1"], idle=mapped["2"], slots_used=rings.get32(W.HDR_SLOTS_USED))
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            ours = fd != rings.fd and os.path.samestat(os.fstat(fd), os.fstat(rings.fd))
        except OSError:
            continue
        if ours:
            os.close(fd)
    sys.monitoring.set_events(tool, events)
    run(lambda: fib(2))  # slots 1 and 2 are not freed: it takes slot 3, never mapped
    sys.monitoring.set_events(tool, 0)
    out["daemon_recorded"] = len(rings.take(3)) > 0
    out["lost_no_memory"] = rings.get64(W.HDR_LOST_NO_MEMORY)
    out["lost_no_slot"] = rings.get64(W.HDR_LOST_NO_SLOT)
    return out


def scenario_crosscheck():
    """Records crosscheck.py's driver; the Go test decodes the same bytes."""
    rings = Rings(nslots=2, ring_bytes=1 << 16)
    agent, tool, events = start_agent(rings)
    ns = {"__name__": "crosscheck"}
    with open(CROSSCHECK, encoding="utf-8") as f:
        exec(compile(f.read(), CROSSCHECK, "exec"), ns)
    run_monitored(tool, events, ns["driver"])
    data = rings.take(0)
    if os.environ.get("PYPROF_TEST_DUMP"):
        with open(os.environ["PYPROF_TEST_DUMP"], "wb") as f:
            f.write(data)
    recs, defs = decode_all(data)
    hot = [r for r in recs if not r.kind.startswith("X_")]
    driver = defs.code_of(ns["driver"]).id
    first = next(i for i, r in enumerate(hot) if r.kind == "PY_START" and r.id == driver)
    last = max(i for i, r in enumerate(hot) if r.kind == "PY_RETURN" and r.id == driver)
    return {"first": recs[0].kind, "driver": readable(defs, hot[first : last + 1])}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "scenario":
        faulthandler.dump_traceback_later(20, exit=True)
        print(json.dumps(globals()["scenario_" + sys.argv[2]]()))
        sys.stdout.flush()
        os._exit(0)
    unittest.main()


if __name__ == "__main__":
    main()
