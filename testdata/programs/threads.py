"""Named threads doing known amounts of work."""
import threading


def work(n):
    return sum(i for i in range(n))


def worker(rounds):
    for _ in range(rounds):
        work(100)


def main():
    threads = [threading.Thread(target=worker, args=(k + 1,), name=f"worker-{k}") for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    worker(2)


if __name__ == "__main__":
    main()
