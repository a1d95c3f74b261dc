#!/usr/bin/env python3
"""A program for sublab's `command` runner, made by `sublab init` (standard library only).

The protocol: one JSON object on stdin (every `set` parameter of the experiment, the swept values
and `seed`); one JSON object per line on stdout, each a result row whose numbers are metrics.
Anything for humans goes to stderr: a stray print() on stdout fails the run.

It fits y = w*x + b to points around y = 2x + 1 by full-batch gradient descent and reports the
test loss (mean squared error) and the slope it found.
"""
import json
import random
import sys

params = json.load(sys.stdin)
rng = random.Random(params["seed"])
lr = float(params["lr"])
epochs = int(params["epochs"])
noise = float(params["noise"])


def sample(n):
    xs = [rng.uniform(-1, 1) for _ in range(n)]
    return [(x, 2 * x + 1 + rng.gauss(0, noise)) for x in xs]


train, test = sample(100), sample(1000)
w = b = 0.0
for epoch in range(epochs):
    gw = sum(2 * x * (w * x + b - y) for x, y in train) / len(train)
    gb = sum(2 * (w * x + b - y) for x, y in train) / len(train)
    w, b = w - lr * gw, b - lr * gb
    print(f"epoch {epoch + 1}: w={w:.3f} b={b:.3f}", file=sys.stderr)

loss = sum((w * x + b - y) ** 2 for x, y in test) / len(test)
print(json.dumps({"loss": loss, "slope": w}))
