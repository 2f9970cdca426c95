"""Dict- and str-heavy parsing: key=value lines split, cleaned, counted and re-joined."""
import sys

FIELDS = ("user", "action", "path", "status", "bytes")


def make_lines(n):
    actions = ("get", "put", "delete", "list")
    return [
        f" user=u{i % 97} ; action={actions[i % 4]} ; path=/data/{i % 13}/item{i} ; status={200 + i % 3} ; bytes={i * 31 % 5000} "
        for i in range(n)
    ]


def parse(line):
    record = {}
    for part in line.split(";"):
        key, _, value = part.strip().partition("=")
        record[key] = value
    return record


def summarise(records):
    by_user = {}
    for r in records:
        stats = by_user.setdefault(r["user"], {"count": 0, "bytes": 0})
        stats["count"] += 1
        stats["bytes"] += int(r["bytes"])
    return by_user


def render(by_user):
    return "\n".join(f"{user}:{s['count']}:{s['bytes']}" for user, s in sorted(by_user.items()))


def run(n):
    records = [parse(line) for line in make_lines(n)]
    assert all(tuple(r) == FIELDS for r in records)
    return len(render(summarise(records)))


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
    print(run(n))
