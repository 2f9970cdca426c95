"""Reference counter for pyprof's tests: runs a program and counts the
PY_START events sys.monitoring raises for each code object, under its own
tool id, with nothing of pyprof loaded. Usage: refcount.py OUT.json PROGRAM [ARGS]."""
import json
import runpy
import sys

counts = {}


def on_start(code, offset):
    key = (code.co_qualname, code.co_filename, code.co_firstlineno)
    counts[key] = counts.get(key, 0) + 1


def main():
    out, program = sys.argv[1], sys.argv[2]
    sys.argv = sys.argv[2:]
    monitoring = sys.monitoring
    monitoring.use_tool_id(3, "refcount")
    monitoring.register_callback(3, monitoring.events.PY_START, on_start)
    monitoring.set_events(3, monitoring.events.PY_START)
    try:
        runpy.run_path(program, run_name="__main__")
    finally:
        monitoring.set_events(3, 0)
        with open(out, "w") as f:
            json.dump([[q, fn, line, n] for (q, fn, line), n in counts.items()], f)


main()
