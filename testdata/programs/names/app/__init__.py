import time


def setup():
    end = time.perf_counter() + 0.1
    while time.perf_counter() < end:
        pass
