# Parks threads in stacks that stand still, each reached a different way
# (plain recursion, a method of a class with a non-ASCII name, a generator,
# a function called from C by map, an __init__ called through the shim
# frame of a specialised CALL), then prints one JSON line with what the
# interpreter itself says of them, and "ready". walk_test.go compares what
# the sampler reads from outside with it; that is how a version whose
# internal headers are not installed is checked.
#
# The JSON holds, per parked thread (by native id), its frames root first
# as sys._current_frames() sees them: file, qualname, first line, line, and
# the code object's address (id); per code object the index of its first
# RESUME, which CPython keeps as _co_firsttraceable; the offset of a code
# object's bytecode (CodeType's basic size: CPython sizes code objects as a
# header up to co_code_adaptive plus code units); the basic and item sizes
# of the types whose sizes _Py_DebugOffsets records; sys.hexversion.
import dis
import json
import sys
import threading
import time
import types

PARKED = 5
parked = threading.Barrier(PARKED + 1)
stop = threading.Event()


def park():
    parked.wait()
    stop.wait()


def recurse(n):
    if n:
        return recurse(n - 1)
    park()


class Ünïcode:
    def 名前(self):
        park()


class Init:
    def __init__(self, now):
        if now:
            park()


def construct():
    # The first calls specialise the call into CALL_ALLOC_AND_ENTER_INIT,
    # which runs __init__ above a shim frame whose code object is
    # immortal: 3.14 tags such a reference in f_executable.
    for i in range(20):
        Init(i == 19)


def gen():
    yield park()


def through_c(_):
    park()


def first_resume(code):
    raw = code.co_code
    for unit in range(len(raw) // 2):
        if raw[2 * unit] == dis.opmap["RESUME"]:
            return unit
    return -1


def describe(frame):
    frames, codes = [], {}
    while frame is not None:
        co = frame.f_code
        frames.append([co.co_filename, co.co_qualname, co.co_firstlineno, frame.f_lineno, id(co)])
        codes[str(id(co))] = first_resume(co)
        frame = frame.f_back
    return frames[::-1], codes


def parked_everywhere(threads):
    frames = sys._current_frames()
    return all(
        t.ident in frames and frames[t.ident].f_code.co_qualname == "Condition.wait"
        and frames[t.ident].f_back.f_code.co_qualname == "Event.wait" for t in threads)


workers = [
    threading.Thread(target=recurse, args=(5,), daemon=True),
    threading.Thread(target=Ünïcode().名前, daemon=True),
    threading.Thread(target=lambda: next(gen()), daemon=True),
    threading.Thread(target=lambda: list(map(through_c, [1])), daemon=True),
    threading.Thread(target=construct, daemon=True),
]
for w in workers:
    w.start()
parked.wait()
# Past the barrier each worker still has to get into stop.wait().
while not parked_everywhere(workers):
    time.sleep(0.01)
report = {
    "threads": {}, "codes": {}, "code_header": types.CodeType.__basicsize__, "hexversion": sys.hexversion,
    "sizes": {t.__name__: [t.__basicsize__, t.__itemsize__] for t in (
        object, tuple, list, set, dict, float, int, bytes, str, types.CodeType, types.GeneratorType)},
}
frames = sys._current_frames()
for w in workers:
    stack, codes = describe(frames[w.ident])
    report["threads"][str(w.native_id)] = stack
    report["codes"].update(codes)
print(json.dumps(report), flush=True)
print("ready", flush=True)
stop.wait()
