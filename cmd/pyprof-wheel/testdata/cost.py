# What pyprof.profile() costs, in a venv where the wheel is installed:
#   python cost.py OUTDIR
# prints the latency of start + stop around a tiny region, and the time of
# a call-heavy region (fib(27), 635,621 calls) unprofiled, under
# pyprof.profile() (building the profile, and writing it) and under
# cProfile.Profile(), each the median of several runs.
import cProfile
import os
import statistics
import sys
import time

import pyprof

out = sys.argv[1]
N = 27


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def run_ms(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def medians_ms(variants, rounds):
    """Runs each variant once a round, in turn, so that a machine whose
    load changes weighs on all alike; returns each one's median."""
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(run_ms(fn))
    return {name: statistics.median(t) for name, t in times.items()}


def profiled(region, *outputs):
    def run():
        with pyprof.profile(*outputs) if outputs else pyprof.Profiler():
            region()

    return run


def cprofiled(region):
    def run():
        p = cProfile.Profile()
        p.enable()
        region()
        p.disable()

    return run


first = run_ms(profiled(lambda: None))  # starts pyprof's process
tiny = medians_ms({"bare": profiled(lambda: None), "pb.gz": profiled(lambda: None, os.path.join(out, "tiny.pb.gz"))}, 30)
heavy = lambda: fib(N)
m = medians_ms(
    {
        "plain": heavy,
        "pyprof": profiled(heavy),
        "pyprof+pb.gz": profiled(heavy, os.path.join(out, "fib.pb.gz")),
        "cProfile": cprofiled(heavy),
    },
    9,
)
calls = 2 * fib(N + 1) - 1  # calls fib(N) makes, itself included
print(f"Python {sys.version.split()[0]}")
print(f"first profile() in the process (starts pyprof): {first:.1f} ms")
print(f"tiny region, start + stop: {tiny['bare']:.2f} ms; writing a .pb.gz too: {tiny['pb.gz']:.2f} ms")
plain = m["plain"]
print(
    f"fib({N}), {calls:,} calls: unprofiled {plain:.1f} ms; pyprof.profile() {m['pyprof']:.1f} ms ({m['pyprof'] / plain:.1f}x), "
    f"writing a .pb.gz {m['pyprof+pb.gz']:.1f} ms ({m['pyprof+pb.gz'] / plain:.1f}x); "
    f"cProfile {m['cProfile']:.1f} ms ({m['cProfile'] / plain:.1f}x)"
)
