# Known busy and sleeping time split between functions, to check what
# sample mode measures against what the program measured itself.
#
# After "ready" the program waits for a line on stdin, so the sampler is
# running before the work starts. It then runs two rounds of: a() busy
# 0.3 s, b() asleep 0.2 s, c() busy 0.1 s in recursive calls, timing each
# call with perf_counter (wall) and thread_time (CPU), prints
# "result <json>" and exits. c's stack changes every few hundred
# nanoseconds, so most of its stacks move while they are read: their
# samples must still count for c.
import json
import sys
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def a():
    spin(0.3)


def b():
    time.sleep(0.2)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def c():
    end = time.perf_counter() + 0.1
    while time.perf_counter() < end:
        fib(12)


def work(rounds):
    spent = {name: {"wall": 0.0, "cpu": 0.0} for name in "abc"}
    for _ in range(rounds):
        for name, fn in (("a", a), ("b", b), ("c", c)):
            w, t = time.perf_counter(), time.thread_time()
            fn()
            spent[name]["wall"] += time.perf_counter() - w
            spent[name]["cpu"] += time.thread_time() - t
    return spent


print("ready", flush=True)
sys.stdin.readline()
print("result", json.dumps(work(2)), flush=True)
