import time

import deco


@deco.timed
def helper():
    end = time.perf_counter() + 0.002
    while time.perf_counter() < end:
        pass
