"""Two packages with a module of the same name, each defining helper(), a
package whose work is in its __init__.py, a decorator's wrapper and a
plugin run in globals of its own and a function that replaces its own
__code__ while it runs: every function must keep its own name
(alpha.utils.helper, beta.utils.helper, app.setup, __main__.main,
deco.timed.<locals>.wrapper, plugins.timing.timed.<locals>.wrapper,
__main__.swapped, and plugins.keyed.keyed, run in globals whose key
"__name__" is a str subclass) in every mode. Runs for argv[1] seconds (0.6 by default); with --forever it
says "ready" and runs until killed, for the sampler's tests."""

import os
import sys
import time

import alpha.utils
import app
import beta.utils


class Namespace(dict):
    """Globals of a dict subclass, as a plugin loader may give exec."""


def load_plugin():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugin.py")
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    ns = Namespace({"setting_%d" % k: k for k in range(200)})
    # Set late, under a str object of its own rather than the interpreter's
    # "__name__", as a loader building the key may.
    ns["".join(["__na", "me__"])] = "plugins.timing"
    exec(code, ns)
    return ns["timed"]


def spin():
    end = time.perf_counter() + 0.002
    while time.perf_counter() < end:
        pass


class KeyStr(str):
    """A str subclass: a loader's key "__name__" of its own type is
    "__name__" to the interpreter's lookups (same hash, equal text)."""


def load_keyed():
    namespace = {KeyStr("__name__"): "plugins.keyed", "spin": spin}
    exec(compile("def keyed():\n    spin()\n", __file__, "exec"), namespace)
    return namespace["keyed"]


def swapped():
    """Runs with another __code__ in its function object than in its frame."""
    own = swapped.__code__
    swapped.__code__ = spin.__code__
    try:
        spin()
    finally:
        swapped.__code__ = own


def main(seconds):
    plugin_work = load_plugin()(spin)
    keyed = load_keyed()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        alpha.utils.helper()
        beta.utils.helper()
        plugin_work()
        swapped()
        keyed()
    # Last, so that a sampler that attached late still sees it.
    app.setup()


if __name__ == "__main__":
    if sys.argv[1:] == ["--forever"]:
        print("ready", flush=True)
        main(float("inf"))
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.6)
