# pyprof.profile() around one request of a pretend server: the profile
# (written to argv[1]) must hold the request's calls, exact, the thread it
# starts included, and nothing from before or after it. The tests know the
# counts: leaf 100 + 7 times in the region, 2 x 50 outside it.
import sys
import threading

import pyprof


def leaf(i):
    return i


def outside():
    for i in range(50):
        leaf(i)


def work(n):
    for i in range(n):
        leaf(i)


def worker():
    work(7)


def handle():
    work(100)
    t = threading.Thread(target=worker, name="region-worker")
    t.start()
    t.join()


def serve():
    outside()
    with pyprof.profile(*sys.argv[1:]):
        handle()
    outside()


serve()
