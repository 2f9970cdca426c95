# pyprof installed with `pip install --target DIR`, imported from DIR on
# PYTHONPATH. argv[1] is an output; argv[2] says what to expect: "works"
# (a region is recorded, and python -m pyprof runs the installed
# executable), or "mismatch" (the package's metadata names another
# version than its executable's: refused).
import subprocess
import sys

import pyprof


def leaf():
    return 1


out, expect = sys.argv[1], sys.argv[2]
if expect == "works":
    with pyprof.profile(out):
        leaf()
    version = subprocess.run([sys.executable, "-m", "pyprof", "version"], capture_output=True, text=True, check=True).stdout
    assert version.split() == ["pyprof", pyprof.__version__], version
    print("ok target")
else:
    try:
        with pyprof.profile(out):
            raise AssertionError("a region started with an executable of another version")
    except pyprof.ProfilerError as e:
        assert "version" in str(e) and pyprof.__version__ in str(e), e
    print("ok version mismatch")
