# Run under `pyprof record`: a region of pyprof's Python API cannot start
# in a process record traces already, and says so. Prints "ok recorded".
import sys

import pyprof

try:
    with pyprof.profile(sys.argv[1]):
        raise AssertionError("a region started under pyprof record")
except pyprof.ProfilerError as e:
    assert "pyprof record" in str(e) and "whole run" in str(e), e
print("ok recorded")
