"""Finds the pyprof executable installed with this package."""

import base64
import hashlib
import os


class MissingBinary(Exception):
    pass


_found = None  # (path, version) once found


def binary():
    """The path of the pyprof executable installed with this package."""
    return installed()[0]


def installed():
    """The pyprof executable installed with this package, and the version
    of the installation. It is the file the installation's RECORD lists
    as bin/pyprof, found where that path leads from the folder the
    package is in; `pip install --target DIR` moves the scripts to
    DIR/bin after writing RECORD, so DIR/bin is looked at too. Only a
    file with the size and sha256 RECORD gives is taken: a pyprof
    elsewhere on the machine, or planted beside the install, never runs."""
    global _found
    if _found is None:
        dist = _own_distribution()
        entry = _recorded_executable(dist)
        candidates = _candidates(dist, entry)
        for path in candidates:
            if _is_recorded_file(path, entry):
                _found = (path, dist.version)
                break
        else:
            raise MissingBinary(
                f"the pyprof executable of this installation is not at {' or '.join(candidates)}, "
                f"where its RECORD puts it (or it differs from the file installed there): "
                f"install pyprof again into this environment, with the options of the first install"
            )
    return _found


def _package_dir():
    return os.path.realpath(os.path.dirname(os.path.abspath(__file__)))


def _own_distribution():
    """The installed distribution that holds this very package: another
    pyprof elsewhere on sys.path is not it."""
    from importlib.metadata import distributions

    here = _package_dir()
    for dist in distributions(name="pyprof"):
        init = os.path.abspath(str(dist.locate_file("pyprof/__init__.py")))
        if os.path.realpath(os.path.dirname(init)) == here:
            return dist
    raise MissingBinary(
        f"the pyprof package in {here} has no installation record beside it (a pyprof-*.dist-info folder), "
        f"so it cannot tell which pyprof executable is its own: install pyprof from its wheel with pip"
    )


def _recorded_executable(dist):
    """RECORD's entry for the executable. RECORD is read here, not through
    dist.files, which from Python 3.12 on leaves out the files that are
    not where RECORD's paths lead: after pip install --target, the
    executable's."""
    import csv
    from importlib.metadata import FileHash, PackagePath

    for row in csv.reader((dist.read_text("RECORD") or "").splitlines()):
        if len(row) < 3 or not row[1]:
            continue
        f = PackagePath(row[0])
        if f.name == "pyprof" and f.parts[-2:-1] == ("bin",):
            f.hash, f.size, f.dist = FileHash(row[1]), int(row[2]) if row[2] else None, dist
            return f
    raise MissingBinary(
        f"the RECORD of pyprof {dist.version} lists no pyprof executable with its hash: "
        f"install pyprof from its wheel with pip"
    )


def _candidates(dist, entry):
    """Where the executable is: the path RECORD gives, from the folder
    the distribution's files are in, and for an install whose scripts
    were moved beside the package's folder (pip install --target DIR
    puts them in DIR/bin), that path without its leading '..'."""
    site = os.path.abspath(str(dist.locate_file("")))
    paths = [os.path.normpath(os.path.join(site, *entry.parts))]
    parts = list(entry.parts)
    while parts and parts[0] == "..":
        parts.pop(0)
    moved = os.path.normpath(os.path.join(site, *parts))
    if moved not in paths:
        paths.append(moved)
    return paths


def _is_recorded_file(path, entry):
    """Whether path is executable and has the size and hash RECORD gives
    for entry."""
    try:
        if not os.access(path, os.X_OK) or (entry.size is not None and os.path.getsize(path) != entry.size):
            return False
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, entry.hash.mode).digest()
    except (OSError, ValueError):
        return False
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == entry.hash.value
