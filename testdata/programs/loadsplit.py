"""Splits wall time between two busy functions and a sleeping one, in
short turns, for the sampler's accuracy under load: busy_a spins half of
each half-second turn, busy_b a fifth, asleep sleeps the rest. Spinning ends by
the wall clock, so the split holds however little CPU the program gets.
The argument is the number of turns."""
import sys
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def busy_a():
    spin(0.25)


def busy_b():
    spin(0.10)


def asleep():
    time.sleep(0.15)


def main(turns):
    for _ in range(turns):
        busy_a()
        busy_b()
        asleep()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
