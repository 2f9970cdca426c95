# A function sleeping forever: off CPU, not holding the GIL.
import time


def sleeper():
    while True:
        time.sleep(60)  # @sleep_leaf


print("ready", flush=True)
sleeper()  # @sleep_main
