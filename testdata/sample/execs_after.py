# What execs.py execs: a busy function for a while, then the end.
import time


def after():
    end = time.perf_counter() + 0.6
    while time.perf_counter() < end:
        pass


after()
