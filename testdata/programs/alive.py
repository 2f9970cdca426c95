"""N threads alive at once (argv[1]), as in a server's thread pool: each
calls work three times, waits at a barrier until all N are there, then
calls work once more; the main thread joins them."""
import sys
import threading


def work(i):
    return i


def worker(barrier, i):
    for _ in range(3):
        work(i)
    barrier.wait()
    work(i)


def main(n):
    barrier = threading.Barrier(n)
    threads = [threading.Thread(target=worker, args=(barrier, i), name=f"w{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(int(sys.argv[1]))
