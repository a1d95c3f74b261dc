"""Stage 2, the data: inputs the teacher labels (its "generated" training set for students)."""
import json
import os
import random

from nn import forward, gaussian_inputs
from teacher import DIM


def generate(teacher_dir, n, seed, out_dir):
    with open(os.path.join(teacher_dir, "teacher.json")) as f:
        net = json.load(f)
    rng = random.Random(2000 + seed)
    xs = gaussian_inputs(rng, n, DIM)
    rows = [{"x": x, "y": 1 if forward(net, x) > 0 else 0} for x in xs]
    with open(os.path.join(out_dir, "data.json"), "w") as f:
        json.dump(rows, f)
    os.makedirs("out", exist_ok=True)
    with open(os.path.join("out", "data-runs.log"), "a") as f:
        f.write("seed %d\n" % seed)
