# A program whose calls the tests know: leaf 45 times, mid 10 times,
# main once.


def leaf(i):
    return i


def mid(n):
    for i in range(n):
        leaf(i)


def main():
    for k in range(10):
        mid(k)


main()
