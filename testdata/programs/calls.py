"""Calls of every shape pyprof must count exactly: recursion, methods,
generators and yield from, exceptions unwinding frames, C calling back into
Python, bound methods kept in a variable."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Point:
    def __init__(self, x):
        self.x = x

    def norm(self):
        return abs(self.x)


def gen(n):
    for i in range(n):
        yield i


def delegate(n):
    yield from gen(n)


def deep(n):
    if n == 0:
        raise ValueError("bottom")
    return deep(n - 1)


def catch():
    try:
        deep(5)
    except ValueError:
        return 1


def keyed(items):
    return sorted(items, key=lambda v: -v)


def main():
    fib(15)
    points = [Point(i) for i in range(10)]
    total = sum(p.norm() for p in points)
    total += sum(delegate(7))
    for _ in range(3):
        catch()
    keyed(list(range(20)))
    norm = points[0].norm
    for _ in range(4):
        norm()
    return total


if __name__ == "__main__":
    main()
