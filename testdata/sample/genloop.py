# A loop resuming generators from Python through next(), a C function:
# the generator's frame comes and goes under its resumer's (with an entry
# frame of the C stack between them) millions of times a second, and the
# resumer's own instruction moves between resumptions.


def leaf():
    s = 0
    for i in range(30):
        s += i
    return s


def gen():
    while True:
        x = leaf()  # @gen_leaf
        yield x


def resume(g, n):
    t = 0
    for _ in range(n):
        t += next(g)  # @resume_next
    return t


def main(k):
    gens = [gen() for _ in range(k)]
    r = 0
    while True:
        resume(gens[r % k], 3)  # @main_resume
        r += 1


print("ready", flush=True)
main(3)  # @module_main
