# Code objects of many shapes, with the positions the interpreter itself
# reports for them. Writes a JSON list to sys.argv[1]: for each code object
# its address (id), names, first line, co_lines() and co_positions(); then
# prints "ready" and sleeps, keeping every code object alive while the test
# reads them from outside.
import json
import sys
import time


def plain(a, b):
    return a + b


def loop_back(n):
    total = 0
    for i in range(n):
        if i % 2:
            total += i
        else:
            total -= 1
    while n > 0:
        n -= 1
    return total


def multiline_call(x):
    return max(
        x,
        1,
        2,
    )


def long_columns(x):
    return x + 1 if x else "a very long string literal that pushes the columns far beyond one hundred and twenty-seven" + str(x)


def with_and_try(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
    finally:
        pass


def generator(n):
    for i in range(n):
        yield i
    yield from range(3)


async def coroutine(x):
    return await x


def comprehensions(xs):
    a = [x for x in xs]
    b = {x: x for x in xs}
    c = (x for x in xs)
    return a, b, list(c)


def closure():
    v = 1

    def inner():
        return v

    return inner


class Klass:
    def method(self):
        return lambda: self


def far_apart():
    x = 1
























































































    return x


def decorated_target():
    pass


decorated = staticmethod(decorated_target)


def backwards(x):
    return (
        x
        +
        1
    ) if x else (
        x
        -
        1
    )


def collect(code, out):
    out.append(code)
    for c in code.co_consts:
        if hasattr(c, "co_lines"):
            collect(c, out)


def describe(code):
    def none(v):
        return -1 if v is None else v

    return {
        "addr": id(code),
        "filename": code.co_filename,
        "qualname": code.co_qualname,
        "firstlineno": code.co_firstlineno,
        "lines": [[s, e, none(l)] for s, e, l in code.co_lines()],
        "positions": [[none(v) for v in p] for p in code.co_positions()],
    }


module_code = compile(open(__file__).read(), __file__, "exec")
codes = []
collect(module_code, codes)
with open(sys.argv[1], "w") as out:
    json.dump([describe(c) for c in codes], out)
print("ready", flush=True)
while True:
    time.sleep(60)
