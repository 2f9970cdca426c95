# pyprof's process holds nothing of the program's (its stderr, its
# working folder), and when it is stopped (SIGSTOP) start() and stop()
# give up after a few seconds instead of waiting forever: the program
# runs on, untraced. argv[1] is a folder for outputs; argv[2] says when
# pyprof's process stops: at "start" or during the region, before "stop"
# (each once a process: trace mode does not come back). Prints "ok NAME"
# for each behaviour that holds; an alarm ends a program left waiting.
import os
import signal
import sys
import time

import pyprof
from pyprof import _profiler

signal.alarm(60)
out, when = sys.argv[1], sys.argv[2]


def leaf(n):
    return n + 1


def same_file(a, b):
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def detached():
    with pyprof.profile(os.path.join(out, "first.folded")):
        leaf(1)
    pid = _profiler._consumer_now.pid
    assert os.readlink(f"/proc/{pid}/cwd") == "/", os.readlink(f"/proc/{pid}/cwd")
    assert not same_file(os.stat(f"/proc/{pid}/fd/2"), os.fstat(2)), "pyprof's process writes to the program's stderr"
    print("ok detached")
    return pid


def stopped(pid):
    began = time.monotonic()
    try:
        p = pyprof.Profiler(os.path.join(out, "stopped.folded"))
        if when == "start":
            os.kill(pid, signal.SIGSTOP)
            p.start()
        else:
            p.start()
            os.kill(pid, signal.SIGSTOP)
            leaf(1)
            p.stop()
        raise AssertionError("a region went on with pyprof's process stopped")
    except pyprof.ProfilerError as e:
        assert "has not answered" in str(e), e
    finally:
        os.kill(pid, signal.SIGCONT)
    assert time.monotonic() - began < 30
    assert sys.monitoring.get_tool(sys.monitoring.PROFILER_ID) is None
    leaf(1)


stopped(detached())
print("ok stopped at " + when)
