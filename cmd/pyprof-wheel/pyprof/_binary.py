"""Finds the pyprof executable installed with this package."""

import os
import sysconfig


class MissingBinary(Exception):
    pass


def binary():
    """The pyprof executable the wheel installed as a script: where the
    installer's RECORD says it put it, else in the scripts folder of the
    scheme this package was installed with."""
    for path in _recorded() or _scheme_scripts():
        if os.access(path, os.X_OK):
            return path
    raise MissingBinary(
        "the pyprof executable that comes with this package is missing: reinstall it with `pip install --force-reinstall pyprof`"
    )


def _recorded():
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("pyprof")
    except PackageNotFoundError:
        return []
    here = os.path.dirname(os.path.abspath(__file__))
    found = []
    for f in dist.files or ():
        if f.name == "pyprof":
            path = os.path.normpath(str(dist.locate_file(f)))
            if os.path.dirname(path) != here:
                found.append(path)
    return found


def _scheme_scripts():
    paths = []
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        paths.append(os.path.join(scripts, "pyprof"))
    return paths
