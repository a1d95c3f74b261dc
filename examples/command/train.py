#!/usr/bin/env python3
"""Example program for sublab's `command` runner (standard library only).

Trains a logistic-regression classifier with plain gradient descent on two Gaussian blobs and
reports its test accuracy and final loss as one result row. The `sublab` module (put on PYTHONPATH
by the runner; docs/protocol.md) reads the parameters from stdin, writes the row on stdout, and
sends log lines to stderr, which sublab keeps in the run's log.
"""
import math
import random

import sublab

params = sublab.params()
seed = int(params.get("seed", 0))
lr = float(params.get("lr", 0.1))
epochs = int(params.get("epochs", 20))
n = int(params.get("samples", 200))
separation = float(params.get("separation", 1.5))

rng = random.Random(seed)


def blob(label):
    centre = separation / 2 if label else -separation / 2
    return [rng.gauss(centre, 1.0), rng.gauss(centre, 1.0)], label


train = [blob(i % 2) for i in range(n)]
test = [blob(i % 2) for i in range(1000)]

w = [0.0, 0.0]
b = 0.0


def predict(x):
    z = w[0] * x[0] + w[1] * x[1] + b
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


loss = 0.0
for epoch in range(epochs):
    gw = [0.0, 0.0]
    gb = 0.0
    loss = 0.0
    for x, y in train:
        p = predict(x)
        loss -= math.log(max(p if y else 1 - p, 1e-12))
        gw[0] += (p - y) * x[0]
        gw[1] += (p - y) * x[1]
        gb += p - y
    w = [w[0] - lr * gw[0] / n, w[1] - lr * gw[1] / n]
    b -= lr * gb / n
    loss /= n
    sublab.log(f"epoch {epoch + 1}/{epochs} loss {loss:.4f}")

accuracy = sum((predict(x) > 0.5) == bool(y) for x, y in test) / len(test)
sublab.emit(accuracy=accuracy, loss=loss)
