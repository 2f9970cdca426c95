"""Closure- and decorator-heavy code: wrappers around wrappers, closures made in loops."""
import functools
import sys


def counted(fn):
    calls = 0

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        nonlocal calls
        calls += 1
        return fn(*args, **kwargs)

    wrapper.calls = lambda: calls
    return wrapper


def clamp(lo, hi):
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(x):
            return min(hi, max(lo, fn(x)))

        return wrapper

    return decorate


@counted
@clamp(0, 1000)
def square(x):
    return x * x


def adder(k):
    return lambda x: x + k


def pipeline(stages):
    def run(x):
        for stage in stages:
            x = stage(x)
        return x

    return run


def work(n):
    total = 0
    for i in range(n):
        run = pipeline([adder(i % 7), square, adder(-3)])
        total += run(i % 50)
    return total + square.calls()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 120_000
    print(work(n))
