# Prints what opcodes_test.go checks the sampler's opcode tables against,
# from the interpreter's own dis and opcode modules.
#
#   bytecode_dump.py ops
#     one "op OPCODE NAME BASE CACHES" line per opcode below 256: BASE is the
#     opcode it specialises or instruments, CACHES its inline cache units.
#   bytecode_dump.py code [profile|trace]
#     runs the calls of callsites.py (leaf does nothing here) until they are
#     specialised, under sys.setprofile or sys.settrace if asked, then for
#     each of its functions prints "code QUALNAME HEX", its co_code_adaptive
#     as the sampler reads it, and "instr UNIT UNITS BASE" per instruction.
import dis
import opcode
import os
import sys


def dump_ops():
    names = dict(getattr(opcode, "_specialized_opmap", {}))
    names.update(getattr(dis, "_all_opmap", {}))
    names.update(opcode.opmap)
    deopt = {s: base for base, specs in opcode._specializations.items() for s in specs}
    caches = opcode._inline_cache_entries
    for name, op in sorted(names.items(), key=lambda kv: kv[1]):
        if op > 255:
            continue  # pseudo-instructions never reach the bytecode
        base = deopt.get(name, name)
        if base.startswith("INSTRUMENTED_") and base[len("INSTRUMENTED_"):] in names:
            base = base[len("INSTRUMENTED_"):]
        n = caches.get(base, 0) if isinstance(caches, dict) else caches[names[base]]
        print("op", op, name, base, n)


def functions(ns):
    for v in ns.values():
        if isinstance(v, type):
            for a in vars(v).values():
                if isinstance(a, property):
                    a = a.fget
                if hasattr(a, "__code__"):
                    yield a.__code__
        elif hasattr(v, "__code__"):
            yield v.__code__


def dump_code(mode):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callsites.py")
    src = open(path).read()
    src = src[: src.index('print("ready"')]
    ns = {"__name__": "callsites"}
    exec(compile(src, path, "exec"), ns)
    ns["leaf"] = lambda: None
    if mode == "profile":
        sys.setprofile(lambda frame, event, arg: None)
    elif mode == "trace":
        sys.settrace(ns["tracer"])
    for _ in range(20):
        ns["run_all"](ns["Obj"](), ns["Attr"](), [1])
    for co in functions(ns):
        units = len(co.co_code) // 2
        print("code", co.co_qualname, co._co_code_adaptive.hex())
        instrs = list(dis.get_instructions(co))
        for i, ins in enumerate(instrs):
            end = instrs[i + 1].offset // 2 if i + 1 < len(instrs) else units
            print("instr", ins.offset // 2, end - ins.offset // 2, ins.opname)


if sys.argv[1] == "ops":
    dump_ops()
else:
    dump_code(sys.argv[2] if len(sys.argv) > 2 else "")
