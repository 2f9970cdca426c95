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


def stop_process(pid):
    """Stops pid and waits until every thread of it has stopped: kill()
    returns once the signal is queued, and on a busy machine the thread
    chosen to take it may wait for a CPU while the others run on (one
    answered a request a millisecond after kill returned)."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        states = set()
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    states.add(f.read().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:
                pass  # a thread that ended
        if states <= {"T"}:
            return
        time.sleep(0.001)
    raise AssertionError(f"pyprof's process {pid} did not stop")


def stopped(pid):
    began = time.monotonic()
    try:
        p = pyprof.Profiler(os.path.join(out, "stopped.folded"))
        if when == "start":
            stop_process(pid)
            p.start()
        else:
            p.start()
            stop_process(pid)
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
