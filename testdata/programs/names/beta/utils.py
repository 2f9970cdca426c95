import time


def helper():
    end = time.perf_counter() + 0.002
    while time.perf_counter() < end:
        pass
