"""teacher → data → student, one run per sweep point and seed. The teacher and the data are stages:
computed once per seed however many student settings the sweep has, and kept across `sublab run`s."""
import sublab

from data import generate
from student import agreement, train_student
from teacher import make_teacher

p = sublab.params()

# Each stage names what its result depends on (inputs), the stages it reads (after) and the code
# that computes it (code): editing student.py does not recompute teachers or data.
with sublab.stage("teacher", {"hidden": p["teacher_hidden"], "seed": p["seed"]}, code=["teacher.py", "nn.py"]) as t:
    if not t.done:
        make_teacher(p["teacher_hidden"], p["seed"], t.dir)

with sublab.stage("data", {"n": p["samples"], "seed": p["seed"]}, after=[t], code=["data.py", "nn.py"]) as d:
    if not d.done:
        generate(t.dir, p["samples"], p["seed"], d.dir)

student = train_student(d.dir, p["epochs"], p["lr"])
sublab.emit(agreement=agreement(student, t.dir, p["seed"]))
