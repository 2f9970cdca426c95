"""Python functions entered without a CALL of their own: a generator
started and resumed by C code iterating it (enumerate, zip in a
comprehension), a property getter, __getitem__, __enter__, a Python
iterator's __next__ driven by for. Each is entered from the marked line
of its caller, which a profile must name, not the caller's def line."""


def gen(n):
    for i in range(n):
        yield i


class Box:
    def __init__(self):
        self.items = [1, 2, 3]

    @property
    def size(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Count:
    def __init__(self, n):
        self.i, self.n = 0, n

    def __iter__(self):
        return self

    def __next__(self):
        if self.i == self.n:
            raise StopIteration
        self.i += 1
        return self.i


def use_enumerate():
    t = 0
    for i, x in enumerate(gen(5)):  # @enumerate
        t += x
    return t


def use_zip():
    return [a + b for a, b in zip(gen(5), gen(5))]  # @zip


def use_box(box):
    n = box.size  # @property
    first = box[0]  # @getitem
    with box:  # @enter
        pass
    return n + first


def use_count():
    return sum(x for x in range(2)) + len([x for x in Count(3)])  # @next


def main():
    for _ in range(3):
        use_enumerate()
        use_zip()
        use_box(Box())
        use_count()


main()
