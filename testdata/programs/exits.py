"""Ends the way argv[1] says, after calling f() argv[2] times: return,
sys.exit, raise, os._exit, or wait for SIGINT after printing "ready"."""
import os
import sys
import time


def f():
    return 1


def main(how, calls):
    for _ in range(calls):
        f()
    if how == "sys.exit":
        sys.exit(3)
    if how == "raise":
        raise RuntimeError("uncaught on purpose")
    if how == "os._exit":
        sys.stdout.flush()
        os._exit(5)
    if how == "sigint":
        print("ready", flush=True)
        time.sleep(30)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
