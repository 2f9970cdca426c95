# A thread pool: four workers encode JSON and wait on a slow service.
import json
import time
from concurrent.futures import ThreadPoolExecutor


def fetch(i):
    time.sleep(0.02)  # a slow service
    return [{"id": n, "name": "row %d" % n} for n in range(i * 100, i * 100 + 4000)]


def encode(rows):
    return len(json.dumps(rows))


def handle(i):
    return encode(fetch(i))


def main():
    with ThreadPoolExecutor(max_workers=4) as pool:
        total = sum(pool.map(handle, range(60)))
    print("encoded", total, "bytes")


main()
