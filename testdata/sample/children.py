# A parent that starts Python children, one forked and one spawned (a new
# interpreter), each busy in child_busy() for a while.
import multiprocessing as mp
import multiprocessing.popen_fork  # imported on first start otherwise, after "ready":
import multiprocessing.popen_spawn_posix  # the sampling window would see imports, not children
import time


def child_busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def main():
    print("ready", flush=True)
    procs = [mp.get_context(m).Process(target=child_busy, args=(1.5,)) for m in ("fork", "spawn")]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    time.sleep(1.0)  # outlive the sampler's window, which then ends first


if __name__ == "__main__":
    main()
