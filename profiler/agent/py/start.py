# pyprof's start-up script: the interpreter runs this file in place of the
# program. It runs bootstrap.py, kept in the boot folder beside it, from the
# bytecode the interpreter caches there: a script's own bytecode is never
# cached, and parsing and compiling the bootstrap on every start took most
# of what pyprof adds to the interpreter's start. The bytecode is pyprof's,
# in pyprof's private folder, so it is cached even where the program's is
# not (-B, PYTHONDONTWRITEBYTECODE); the setting is the program's again
# before anything else runs. Nothing is imported for this: the frozen
# importlib and sys are there from the start. pyprof writes the
# bootstrap's file name in place of the @-quoted word below.
import sys


def _bootstrap_code(path):
    loader = sys.modules["_frozen_importlib_external"].SourceFileLoader("_pyprof_bootstrap", path)
    programs = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        return loader.get_code("_pyprof_bootstrap")
    finally:
        sys.dont_write_bytecode = programs


exec(_bootstrap_code(__file__.rpartition("/")[0] + "/boot/@BOOTSTRAP@"))
