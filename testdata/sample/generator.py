# A busy generator resumed by a for loop: the generator's frame lives in the
# generator object, not on the thread's data stack.


def numbers():
    while True:
        total = 0
        for i in range(100_000): total = total + i  # @gen_busy
        yield total  # @gen_yield


def consume():
    for _ in numbers():  # @gen_for
        pass


print("ready", flush=True)
consume()  # @gen_main
