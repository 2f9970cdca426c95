# What pyprof's Python API does besides recording, checked in one
# process: prints "ok NAME" for each behaviour that holds, and fails with
# a traceback on the first that does not. argv[1] is a folder for outputs.
import cProfile
import os
import signal
import sys
import threading
import time
import warnings

import pyprof
from pyprof import _profiler

out = sys.argv[1]


def path(name):
    return os.path.join(out, name)


def leaf(n):
    return n + 1


def busy(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n = leaf(n)
    return n


def nested():
    with pyprof.profile(path("outer.folded")):
        try:
            with pyprof.profile(path("inner.folded")):
                raise AssertionError("a nested profile started")
        except pyprof.ProfilerError as e:
            assert "recording already" in str(e) and "behaviours.py" in str(e), e
        leaf(1)
    assert not os.path.exists(path("inner.folded"))
    assert "leaf" in open(path("outer.folded")).read()
    print("ok nested")


def concurrent():
    errors = []

    def other():
        try:
            pyprof.Profiler(path("other.folded")).start()
        except pyprof.ProfilerError as e:
            errors.append(e)

    with pyprof.profile(path("first.folded")):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1 and "recording already" in str(errors[0]), errors
    print("ok concurrent")


def tool_taken():
    profile = cProfile.Profile()
    profile.enable()
    try:
        with pyprof.profile(path("taken.folded")):
            raise AssertionError("profiled while cProfile held the tool id")
    except pyprof.ToolIdInUse as e:
        assert e.owner == "cProfile" and "'cProfile'" in str(e), e
    finally:
        profile.disable()
    assert sys.monitoring.get_tool(sys.monitoring.PROFILER_ID) is None
    with pyprof.profile(path("after.folded")):
        leaf(1)
    print("ok tool id taken")


def refused(make, error, *words):
    """Checks that make() raises error with each of words in its message."""
    try:
        make()
    except error as e:
        assert all(w in str(e) for w in words), (words, e)
        return
    raise AssertionError(f"accepted, where {error.__name__} was due")


def bad_output():
    refused(lambda: pyprof.profile(path("out.png")), pyprof.ProfilerError, ".svg")
    refused(lambda: pyprof.profile(path(".svg")), pyprof.ProfilerError, "'profile.svg'")
    refused(lambda: pyprof.profile(3), TypeError, "path")
    # One file named twice, or through a symlink to a file not made yet.
    refused(lambda: pyprof.profile(path("dup.folded"), path("dup.folded")), pyprof.ProfilerError, "same file")
    os.symlink(path("real.folded"), path("alias.folded"))
    refused(lambda: pyprof.profile(path("real.folded"), path("alias.folded")), pyprof.ProfilerError, "same file")
    unwritable = os.path.join("/proc", "x.svg")
    ran = []
    try:
        with pyprof.profile(unwritable):
            ran.append(True)
        raise AssertionError("started with an output in a folder nothing can be written to")
    except pyprof.ProfilerError as e:
        assert unwritable in str(e) and ".pyprof" not in str(e), e
    assert not ran and not os.path.exists(unwritable)
    with pyprof.profile(path("bytes.folded").encode()):
        leaf(1)
    assert os.path.exists(path("bytes.folded"))
    try:
        with pyprof.profile(os.path.join(out, "missing", "x.folded")):
            raise AssertionError("started with an output in a missing folder")
    except pyprof.ProfilerError as e:
        assert "missing" in str(e), e
    assert sys.monitoring.get_tool(sys.monitoring.PROFILER_ID) is None
    print("ok bad output")


def bad_options():
    refused(lambda: pyprof.Profiler(native_calls="no"), TypeError, "native_calls")
    refused(lambda: pyprof.Profiler(tool_id=True), TypeError, "tool_id")
    refused(lambda: pyprof.Profiler(rate=True), TypeError, "rate")
    refused(lambda: pyprof.Profiler(tool_id=7), ValueError, "tool_id")
    # record --rate 0 means no CPU time; a region cannot do without it.
    refused(lambda: pyprof.Profiler(rate=0), ValueError, "rate 0", "CPU time")
    print("ok bad options")


def no_output():
    with pyprof.profile() as p:
        leaf(1)
    assert p.stats["events"] > 0 and p.stats["wrote"] is None, p.stats
    p.write(path("later.folded"))
    assert "leaf" in open(path("later.folded")).read()
    print("ok no output")


def names():
    # What a traceback and help() show of the package.
    for cls in (pyprof.ProfilerError, pyprof.AlreadyRecording, pyprof.ToolIdInUse):
        assert f"{cls.__module__}.{cls.__qualname__}" == f"pyprof.{cls.__name__}", cls
    undocumented = [name for name in dir(pyprof) if callable(getattr(pyprof, name)) and not getattr(pyprof, name).__doc__]
    assert not undocumented, undocumented
    with pyprof.profile() as p:
        leaf(1)
    documented = pyprof.Profiler.__doc__
    assert all(key in documented for key in p.stats), (sorted(p.stats), documented)
    print("ok names")


def write_again():
    p = pyprof.Profiler()
    p.start()
    leaf(1)
    p.stop()
    p.write(path("again.svg"), path("again.folded"))
    assert open(path("again.svg")).read().startswith("<?xml") or "<svg" in open(path("again.svg")).read()
    with pyprof.profile(path("next.folded")):
        pass
    try:
        p.write(path("late.folded"))
        raise AssertionError("wrote a region whose profile is gone")
    except pyprof.ProfilerError as e:
        assert "last region" in str(e), e
    print("ok write again")


def failed_write():
    # The body's own exception propagates, the failed write is a warning
    # at the with statement.
    folder = path("vanishing")
    os.mkdir(folder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with pyprof.profile(os.path.join(folder, "x.folded")):
                leaf(1)
                os.rmdir(folder)
                raise ValueError("the body's")
        except ValueError as e:
            assert str(e) == "the body's", e
    assert [w.filename for w in caught if "not written" in str(w.message)] == [__file__], [(w.filename, str(w.message)) for w in caught]
    # Without one, stop() raises; the region is kept for write().
    os.mkdir(folder)
    try:
        with pyprof.profile(os.path.join(folder, "y.folded")) as p:
            leaf(1)
            os.rmdir(folder)
        raise AssertionError("a profile that could not be written raised nothing")
    except pyprof.ProfilerError as e:
        assert folder in str(e), e
    p.write(path("saved.folded"))
    assert "leaf" in open(path("saved.folded")).read()
    print("ok failed write")


def sample_mode():
    with pyprof.profile(path("sampled.folded"), mode="sample", rate=200) as p:
        busy(0.5)
    assert p.stats["samples"] > 0, p.stats
    stacks = open(path("sampled.folded")).read()
    # pyprof's own frames stay out; its marker for a stack that moved while
    # read is not a frame of pyprof's code and may appear.
    assert "pyprof" not in stacks.replace("__main__.", "").replace("<pyprof: stack changed while read>", ""), stacks
    roots = {line.split(";")[0].rsplit(" ", 1)[0] for line in stacks.splitlines()}
    # A stack that kept moving while read has no frame to stand under but
    # that marker, which may then be a root of its own.
    roots.discard("<pyprof: stack changed while read>")
    assert roots == {"__main__.sample_mode"}, roots
    print("ok sample mode")


def deep(depth, event):
    if depth:
        return deep(depth - 1, event)
    event.wait()


def sample_many_threads():
    # Their running frames are more than one request carries.
    event = threading.Event()
    threads = [threading.Thread(target=deep, args=(40, event)) for _ in range(200)]
    for t in threads:
        t.start()
    try:
        with pyprof.profile(path("many.folded"), mode="sample") as p:
            busy(0.2)
    finally:
        event.set()
        for t in threads:
            t.join()
    assert p.stats["samples"] > 0, p.stats
    print("ok sample mode with many threads")


def consumer_silent():
    """pyprof's process stopped (SIGSTOP) through a region that fills its
    ring: the program goes on after 5 s, untraced, and once the process is
    continued, stop() writes the region up to there and says so."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pyprof.Profiler(path("silent.folded")):
            consumer = _profiler._consumer_now
            os.kill(consumer.pid, signal.SIGSTOP)
            try:
                for _ in range(3_000_000):
                    leaf(0)
            finally:
                os.kill(consumer.pid, signal.SIGCONT)
    said = [str(w.message) for w in caught]
    assert any("undrained for 5 s" in m for m in said), said
    assert not any("has ended" in m for m in said), said
    assert os.path.exists(path("silent.folded"))
    print("ok consumer silent")


def consumer_dies():
    # The last check: trace mode cannot start again in this process after.
    consumer = _profiler._consumer_now
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pyprof.Profiler(path("dead.folded")) as p:
            os.kill(consumer.pid, signal.SIGKILL)
            busy(1.0)  # more than the agent needs to see its consumer gone
        assert p.stats is None, p.stats
    # The warning points at the program's with statement.
    ended = [w.filename for w in caught if "has ended" in str(w.message)]
    assert ended == [__file__], [(w.filename, str(w.message)) for w in caught]
    assert not os.path.exists(path("dead.folded"))
    assert sys.monitoring.get_tool(sys.monitoring.PROFILER_ID) is None
    try:
        pyprof.Profiler(path("again.folded")).start()
        raise AssertionError("trace mode started again")
    except pyprof.ProfilerError as e:
        assert "not available again" in str(e), e
    print("ok consumer dies")


nested()
concurrent()
tool_taken()
bad_output()
bad_options()
no_output()
names()
write_again()
failed_write()
sample_mode()
sample_many_threads()
consumer_silent()
consumer_dies()
