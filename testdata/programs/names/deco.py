"""A decorator in a module of its own. functools.wraps gives the wrapper the
wrapped function's __module__, __name__ and __qualname__, but the wrapper's
code is still this module's: it is deco.timed.<locals>.wrapper in every
mode, as the module's globals name it, not beta.utils.<...>."""

import functools


def timed(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper
