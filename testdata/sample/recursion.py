# A recursion 200 deep (or as deep as argv[1] says) that sleeps at the
# bottom: 200 frames span more than one 16 KiB data stack chunk on 3.12 and
# 3.13. With argv[1] = 48 the stack is 50 frames: the benchmark's; deeper
# than the sampler reads, the recursion limit is raised to let it run.
import sys
import time


def bottom():
    while True:
        time.sleep(60)  # @rec_bottom


def rec(n):
    if n == 0:
        return bottom()  # @rec_to_bottom
    return rec(n - 1)  # @rec_self


depth = int(sys.argv[1]) if len(sys.argv) > 1 else 200
sys.setrecursionlimit(max(sys.getrecursionlimit(), depth + 100))
print("ready", flush=True)
rec(depth - 1)  # @rec_main
