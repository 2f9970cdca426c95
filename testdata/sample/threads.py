# Two named threads, one busy and one sleeping, while the main thread joins.
# Each thread prints its native id so the test can tell them apart.
import sys
import threading
import time

print_lock = threading.Lock()


def spin():
    x = 0
    while True: x = x + 1  # @thread_spin


def nap():
    while True:
        time.sleep(60)  # @thread_nap


def report(name):
    with print_lock:
        sys.stdout.write(f"tid {name} {threading.get_native_id()}\n")
        sys.stdout.flush()


def busy_worker():
    report("worker-busy")
    spin()  # @thread_busy_call


def sleepy_worker():
    report("worker-sleepy")
    nap()  # @thread_sleepy_call


a = threading.Thread(target=busy_worker, name="worker-busy", daemon=True)
b = threading.Thread(target=sleepy_worker, name="worker-sleepy", daemon=True)
a.start()
b.start()
report("MainThread")
time.sleep(0.2)
print("ready", flush=True)
a.join()  # @thread_main_join
