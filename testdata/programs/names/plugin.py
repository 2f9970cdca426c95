"""A plugin, run by main.py with exec in globals of a dict subclass that
holds 200 settings before its __name__. Its decorator's wrapper takes
the __module__ of the function it wraps (__main__), but its code is the
plugin's: plugins.timing.timed.<locals>.wrapper in every mode, as those
globals name it."""

import functools


def timed(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper
