#!/usr/bin/env python3
"""A program for sublab's `command` runner, made by `sublab init` (standard library only).

The protocol (docs/protocol.md in the sublab package): the run's parameters arrive as JSON on stdin
(every `set` parameter of the experiment, the swept values and `seed`), each result row goes to
stdout as one JSON line whose numbers are metrics, and anything for humans goes to stderr. The
`sublab` module does that for you: sublab.params(), sublab.emit(...), sublab.log(...). The runner
makes it importable; to run this file alone, from the project root:

    echo '{"lr": 0.1, "epochs": 30, "noise": 0.5, "seed": 0}' | PYTHONPATH=node_modules/sublab/python python3 experiments/{{name}}/train.py

It fits y = w*x + b to points around y = 2x + 1 by full-batch gradient descent and reports the
test loss (mean squared error) and the slope it found.
"""
import random

import sublab

params = sublab.params()
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
    sublab.log(f"epoch {epoch + 1}: w={w:.3f} b={b:.3f}")

loss = sum((w * x + b - y) ** 2 for x, y in test) / len(test)
sublab.emit(loss=loss, slope=w)
