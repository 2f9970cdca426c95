# Busy for 0.3 s, then exits: the sampler must stop cleanly and keep what
# it took.
import time


def work():
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass


print("ready", flush=True)
work()
