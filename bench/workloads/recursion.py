"""Recursion through keyword arguments, defaults and **kwargs forwarding."""
import sys


def build(depth, *, fanout=2, label="n"):
    if depth == 0:
        return {"label": label, "kids": []}
    kids = [build(depth - 1, fanout=fanout, label=f"{label}{i}") for i in range(fanout)]
    return {"label": label, "kids": kids}


def walk(node, depth=0, **options):
    visit = options.get("visit")
    score = visit(node, depth=depth) if visit else 0
    for kid in node["kids"]:
        score += walk(kid, depth + 1, **options)
    return score


def weigh(node, *, depth):
    return depth * len(node["label"])


def run(depth):
    tree = build(depth, fanout=3)
    return walk(tree, visit=weigh) + walk(tree)


if __name__ == "__main__":
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    print(run(depth))
