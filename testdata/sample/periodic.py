# A loop whose period is exactly 10 ms, held to the clock: short() runs
# the first 2 ms of each, long() the other 8. A sampler whose period
# divides into it samples the same points of the loop every time unless
# it draws its moments at random.
import time


def spin_until(t):
    while time.perf_counter() < t:
        pass


def short(t):
    spin_until(t)


def long(t):
    spin_until(t)


print("ready", flush=True)
t = time.perf_counter()
while True:
    short(t + 0.002)
    long(t + 0.010)
    t += 0.010
