# A thread pool: four workers encode JSON and wait on a slow service.
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor


def fetch(i):
    time.sleep(0.02)  # a slow service
    return [{"id": n, "name": "row %d" % n} for n in range(i * 100, i * 100 + 4000)]


# POOL_REGRESSION=1 plants a regression for the diff picture: every row is
# copied before encoding, one more call per row.
REGRESSION = bool(os.environ.get("POOL_REGRESSION"))


def copy_row(row):
    return dict(row)


def encode(rows):
    if REGRESSION:
        rows = [copy_row(r) for r in rows]
    return len(json.dumps(rows))


def handle(i):
    return encode(fetch(i))


def main():
    with ThreadPoolExecutor(max_workers=4) as pool:
        total = sum(pool.map(handle, range(60)))
    print("encoded", total, "bytes")


main()
