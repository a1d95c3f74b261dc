"""Stage 1, the teacher: a seeded random network (standing in for hours of fine-tuning)."""
import json
import os
import random

DIM = 8


def make_teacher(hidden, seed, out_dir):
    rng = random.Random(1000 + seed)
    net = {
        "w1": [[rng.gauss(0.0, 1.0) for _ in range(DIM)] for _ in range(hidden)],
        "b1": [rng.gauss(0.0, 0.5) for _ in range(hidden)],
        "w2": [rng.gauss(0.0, 1.0) for _ in range(hidden)],
        "b2": 0.0,
    }
    with open(os.path.join(out_dir, "teacher.json"), "w") as f:
        json.dump(net, f)
    # The example's proof of reuse: one line per teacher actually computed (outside the stage folder).
    os.makedirs("out", exist_ok=True)
    with open(os.path.join("out", "teacher-runs.log"), "a") as f:
        f.write("seed %d\n" % seed)
