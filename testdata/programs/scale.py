"""Scale cases, chosen by argv[1]: threads N (N threads started and ended,
a few at a time), deep N (recursion N deep), funcs N (N distinct functions)."""
import sys
import threading


def work():
    return 1


def threads(n):
    for start in range(0, n, 8):
        batch = [threading.Thread(target=work, name=f"t{i}") for i in range(start, min(start + 8, n))]
        for t in batch:
            t.start()
        for t in batch:
            t.join()


def down(n):
    return 0 if n == 0 else 1 + down(n - 1)


def deep(n):
    sys.setrecursionlimit(n + 1000)
    return down(n)


def funcs(n):
    namespace = {}
    source = "\n".join(f"def f{i}():\n    return {i}" for i in range(n))
    exec(compile(source, "generated.py", "exec"), namespace)
    return sum(namespace[f"f{i}"]() for i in range(n))


if __name__ == "__main__":
    print({"threads": threads, "deep": deep, "funcs": funcs}[sys.argv[1]](int(sys.argv[2])))
