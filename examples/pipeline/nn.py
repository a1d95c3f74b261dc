"""The tiny network the teacher, the data and the student share: a one-hidden-layer tanh net."""
import math


def forward(net, x):
    """The teacher's logit for input x (net: {"w1": [[...]], "b1": [...], "w2": [...], "b2": float})."""
    hidden = [math.tanh(sum(w * xi for w, xi in zip(row, x)) + b) for row, b in zip(net["w1"], net["b1"])]
    return sum(w * h for w, h in zip(net["w2"], hidden)) + net["b2"]


def gaussian_inputs(rng, n, dim):
    return [[rng.gauss(0.0, 1.0) for _ in range(dim)] for _ in range(n)]
