"""A program that children.py runs as a new interpreter."""
import os
import time


def leaf():
    return 1


def work():
    for _ in range(4):
        leaf()
    time.sleep(0.05)  # wall time to check in the child's own clock


work()
os.write(1, b"child %d\n" % os.getpid())
