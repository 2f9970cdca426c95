"""Method-call-heavy object code: small classes, properties, inheritance and super()."""
import sys


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def add(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    def scale(self, k):
        return Vec(self.x * k, self.y * k)

    def dot(self, other):
        return self.x * other.x + self.y * other.y


class Body:
    def __init__(self, pos, vel):
        self.pos = pos
        self.vel = vel

    @property
    def energy(self):
        return 0.5 * self.vel.dot(self.vel)

    def step(self, dt):
        self.pos = self.pos.add(self.vel.scale(dt))


class DampedBody(Body):
    def step(self, dt):
        super().step(dt)
        self.vel = self.vel.scale(0.999)


def simulate(steps):
    bodies = [Body(Vec(i, 0.0), Vec(0.0, 1.0)) for i in range(8)]
    bodies += [DampedBody(Vec(0.0, i), Vec(1.0, 0.0)) for i in range(8)]
    total = 0.0
    for _ in range(steps):
        for b in bodies:
            b.step(0.01)
            total += b.energy
    return total


if __name__ == "__main__":
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(round(simulate(steps), 3))
