# A frame that comes and goes millions of times a second through C code:
# sum() resumes a generator expression, whose frame is the newest while
# it runs and gone while sum adds. Every stack is <module>, work, and
# perhaps the generator expression; the call lines are marked.


def work():
    while True:
        sum(x * x for x in range(1000))  # @gen_sum


print("ready", flush=True)
work()  # @gen_main
