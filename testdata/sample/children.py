# A parent that starts Python children, one forked and one spawned (a new
# interpreter), each busy in child_busy() for a while.
import multiprocessing as mp
import time


def child_busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main():
    print("ready", flush=True)
    procs = [mp.get_context(m).Process(target=child_busy, args=(1.0,)) for m in ("fork", "spawn")]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
