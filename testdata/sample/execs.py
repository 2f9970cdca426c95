# Runs before() for a while, then execs the interpreter again on
# execs_after.py, which runs after(): the sampler must follow the exec and
# sample both programs as the one process they are. With --to-shell it
# execs a shell instead, which the sampler cannot read; --to-short-shell
# one that exits soon after.
import os
import sys
import time


def before():
    end = time.perf_counter() + 0.4
    while time.perf_counter() < end:
        pass


print("ready", flush=True)
before()
if sys.argv[1:] == ["--to-shell"]:
    os.execv("/bin/sh", ["sh", "-c", "sleep 6"])
if sys.argv[1:] == ["--to-short-shell"]:
    # Gone before the sampler has given up waiting for a Python in it.
    os.execv("/bin/sh", ["sh", "-c", "sleep 0.2"])
after = os.path.join(os.path.dirname(os.path.abspath(__file__)), "execs_after.py")
os.execv(sys.executable, [sys.executable, after])
