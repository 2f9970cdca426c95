"""Functions whose names UTF-8 cannot carry whole: a module __name__ with
a lone surrogate, code compiled from a file name that is not UTF-8
(decoded with surrogateescape, as Python decodes such paths), and a
module __name__ longer than the agents write (3000 two-byte characters).
Every mode must name them alike. Each burns the CPU for argv[1] seconds
(0.5 by default)."""

import sys
import time

SOURCE = """
def burn(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
"""


def load(module, filename):
    namespace = {"__name__": module, "time": time}
    exec(compile(SOURCE, filename, "exec"), namespace)
    return namespace["burn"]


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    load("sur\udcffmod", "/srv/caf\udce9/plugin.py")(seconds)
    load("\u00e9" * 3000, "/srv/long.py")(seconds)
