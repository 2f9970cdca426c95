"""The cross-check capture: agent_test.py records driver() with each agent and
the Go test decodes the ring bytes with profiler/wire into a call tree. The
`# line:` comments name the lines the Go test expects calls from."""


def leaf(n):
    return n + 1


def helper():
    return leaf(1)  # line: helper-leaf


def driver():
    total = 0
    for i in range(3):  # line: driver-range
        total += leaf(i)  # line: driver-leaf
    total += helper()  # line: driver-helper
    total += len("ab")  # line: driver-len
    return sorted([3, 1, 2], key=lambda v: -v)  # line: driver-sorted
