"""The run itself, the student: logistic regression trained on the teacher's data; its agreement
with the teacher on fresh inputs is the result."""
import json
import math
import os
import random

from nn import forward, gaussian_inputs
from teacher import DIM


def train_student(data_dir, epochs, lr):
    with open(os.path.join(data_dir, "data.json")) as f:
        rows = json.load(f)
    w = [0.0] * DIM
    b = 0.0
    for _ in range(epochs):
        for r in rows:
            z = sum(wi * xi for wi, xi in zip(w, r["x"])) + b
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = p - r["y"]
            w = [wi - lr * g * xi for wi, xi in zip(w, r["x"])]
            b -= lr * g
    return w, b


def agreement(student, teacher_dir, seed, n=500):
    w, b = student
    with open(os.path.join(teacher_dir, "teacher.json")) as f:
        net = json.load(f)
    xs = gaussian_inputs(random.Random(3000 + seed), n, DIM)
    same = sum((sum(wi * xi for wi, xi in zip(w, x)) + b > 0) == (forward(net, x) > 0) for x in xs)
    return same / n
