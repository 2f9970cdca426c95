"""python -m pyprof ARGS runs the pyprof executable of this installation
with ARGS, as `pyprof ARGS` does."""

import os
import sys

from ._binary import MissingBinary, binary


def main():
    try:
        path = binary()
    except MissingBinary as e:
        print(f"pyprof: {e}", file=sys.stderr)
        sys.exit(3)  # pyprof's status for a problem of the environment
    # A program recorded without naming its interpreter runs under this
    # Python, a virtual environment's even where that is not on PATH, as
    # `python app.py` would have run it.
    if sys.executable:
        os.environ.setdefault("PYPROF_PYTHON", sys.executable)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(path, [path, *sys.argv[1:]])


if __name__ == "__main__":
    main()
