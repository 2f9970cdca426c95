# A stack that never stands still: recursion to a depth that changes on
# every call, ending in one of two leaves. Every caller frame is at one of
# the marked call lines, so a stack mixed from two moments shows up as a
# frame at the wrong line or in the wrong place.


def leaf_a():
    return sum(range(50))


def leaf_b():
    return len(str(12345))


def rec(n, leaf):
    if n == 0:
        return leaf()  # @churn_leaf
    return rec(n - 1, leaf)  # @churn_rec


def churn():
    i = 0
    while True:
        i += 1
        rec(i % 30, leaf_a if i % 2 else leaf_b)  # @churn_call


print("ready", flush=True)
churn()  # @churn_main
