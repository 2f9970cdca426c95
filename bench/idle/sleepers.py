"""A program that mostly waits: what pyprof's consumer costs when there is
little to record. Four threads and the main thread sleep in short naps for
about two seconds, as a server between requests does."""
import sys
import threading
import time


def nap(rounds):
    for _ in range(rounds):
        time.sleep(0.05)


if __name__ == "__main__":
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    threads = [threading.Thread(target=nap, args=(rounds,)) for _ in range(4)]
    for t in threads:
        t.start()
    nap(rounds)
    for t in threads:
        t.join()
