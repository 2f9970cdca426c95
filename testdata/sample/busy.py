# A busy function nested three deep under <module>: the sampler must see
# <module> -> outer -> middle -> leaf with the call lines marked below.
# Lines ending in "# @name" are found by the tests; keep one statement per
# marked line.


def leaf():
    x = 0
    while True: x = x + 1  # @busy_leaf


def middle():
    leaf()  # @busy_middle


def outer():
    middle()  # @busy_outer


print("ready", flush=True)
outer()  # @busy_main
