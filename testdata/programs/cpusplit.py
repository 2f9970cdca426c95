"""Splits known busy and sleeping time between functions and prints what it
measured itself, as JSON, for accuracy tests: busy() and also_busy() burn
CPU, idle() sleeps."""
import json
import sys
import time


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def also_busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def idle(seconds):
    time.sleep(seconds)


def main(scale):
    spent = {}
    for name, f, seconds in (("busy", busy, 0.3), ("idle", idle, 0.2), ("also_busy", also_busy, 0.1)):
        start, cpu = time.perf_counter(), time.process_time()
        f(seconds * scale)
        spent[name] = {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}
    print(json.dumps(spent))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
