"""Child processes for pyprof's --subprocesses tests: children.py MODE, where
MODE is fork, pool-fork, pool-spawn, pool-forkserver, run [PYTHON] (child.py
with PYTHON, this Python by default), or linger (a child that outlives the
program). Every child prints "child PID" on a line of its own."""
import multiprocessing
import os
import subprocess
import sys
import threading
import time


def say_child():
    # One write: lines of several processes on one pipe stay whole.
    os.write(1, b"child %d\n" % os.getpid())


def parent_work():
    return 1


def child_work():
    return 2


def square(x):
    say_child()
    return x * x


def thread_work():
    return 3


def fork():
    pid = os.fork()
    if pid == 0:
        for _ in range(5):
            child_work()
        t = threading.Thread(target=thread_work, name="child-thread")
        t.start()
        t.join()
        say_child()
        os._exit(0)
    os.waitpid(pid, 0)


def pool(method):
    with multiprocessing.get_context(method).Pool(2) as p:
        print(p.map(square, [1, 2, 3]), flush=True)


def run(python):
    child = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
    subprocess.run([python, child], check=True)


def linger():
    child = subprocess.Popen([sys.executable, __file__, "lingering"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.write(1, child.stdout.readline())


def lingering():
    for _ in range(2):
        child_work()
    say_child()
    time.sleep(30)  # the test kills it


def main(mode, python=sys.executable):
    if mode == "lingering":
        lingering()
        return
    if mode == "linger":
        linger()
    elif mode == "fork":
        fork()
    elif mode.startswith("pool-"):
        pool(mode[len("pool-"):])
    else:
        run(python)
    for _ in range(3):
        parent_work()


if __name__ == "__main__":
    main(*sys.argv[1:])
