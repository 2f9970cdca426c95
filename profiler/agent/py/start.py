# pyprof's start-up script: the interpreter runs this file in place of the
# program. It runs bootstrap.py, kept in the boot folder beside it, from the
# bytecode the interpreter caches there: a script's own bytecode is never
# cached, and parsing and compiling the bootstrap on every start took most
# of what pyprof adds to the interpreter's start. The bytecode is pyprof's,
# in pyprof's private folder: it is cached even where the program's is not
# (-B, PYTHONDONTWRITEBYTECODE) and never under the program's cache prefix
# (PYTHONPYCACHEPREFIX, which may be anyone's folder); both settings are the
# program's again before anything else runs. Nothing is imported for this:
# the frozen importlib, sys and posix are there from the start. pyprof
# writes the bootstrap's file name in place of the @-quoted word below.
import sys


def _bootstrap_code(path):
    external = sys.modules["_frozen_importlib_external"]
    loader = external.SourceFileLoader("_pyprof_bootstrap", path)
    programs = sys.dont_write_bytecode, sys.pycache_prefix
    sys.dont_write_bytecode, sys.pycache_prefix = False, None
    try:
        try:
            return loader.get_code("_pyprof_bootstrap")
        except (EOFError, ValueError, TypeError):
            # Bytecode cut short: the interpreter keeps the name of a file
            # whose write ran out of disk. Drop it and compile anew.
            try:
                sys.modules["posix"].unlink(external.cache_from_source(path))
            except OSError:
                pass
            return loader.get_code("_pyprof_bootstrap")
    finally:
        sys.dont_write_bytecode, sys.pycache_prefix = programs


exec(_bootstrap_code(__file__.rpartition("/")[0] + "/boot/@BOOTSTRAP@"))
