#!/usr/bin/env python3
"""The mlp_distill experiment as a researcher would write it in PyTorch (CPU), for the
side-by-side benchmark in bench/mlp-distill.ts. Same work as sublab's engine: N MLPs side by side
as batched weights (x @ W + b on [N, B, d] tensors; torch.baddbmm is 10x slower in Debian's build), each with its own shuffle per epoch; teacher on the digit
logits; four distillation arms (student on the aux logits, student on all logits, a cross-model
control from a derangement of the inits, and its all-logit twin) on uniform noise in [-1, 1];
Adam (torch defaults) with autograd; digit accuracy on the test set. As in sublab's runner, the
curves are evaluated each epoch too (teacher accuracy per teacher epoch; each arm's accuracy and
the student's linear CKA with the teacher per distillation epoch), so both do the same work.

With arms=2 it is instead the plain script a user would write for the published experiment: the
two arms it has (student on the aux logits, cross-model control), accuracy at the end only, no
per-epoch curves and no CKA.

  python3 bench/torch_mlp_distill.py DATA_DIR key=value ...   (arms=4 default, or arms=2)

DATA_DIR holds train_x.f32 test_x.f32 (pixels in [0, 1], row-major 784 per image) and
train_y.u8 test_y.u8, written by the TypeScript bench from the same data sublab trains on.
Prints one JSON object: seconds per phase, wall time, peak RSS, mean accuracies.
"""
import json
import os
import resource
import sys
import time

import torch

cfg = dict(models=25, hidden=256, layers=2, aux=3, lr=3e-4, batch=128, epochs_teacher=5,
           epochs_distill=1, noise_size=60000, threads=2, seed=0, arms=4)
data_dir = sys.argv[1]
for arg in sys.argv[2:]:
    k, v = arg.split('=')
    cfg[k] = type(cfg[k])(float(v)) if k in cfg and not isinstance(cfg[k], str) else v
torch.set_num_threads(cfg['threads'])
torch.manual_seed(cfg['seed'])
t_start = time.perf_counter()

def load(name, dtype, shape):
    t = torch.from_file(os.path.join(data_dir, name), size=int(torch.tensor(shape).prod()), dtype=dtype)
    return t.reshape(shape)

n_train = os.path.getsize(os.path.join(data_dir, 'train_y.u8'))
n_test = os.path.getsize(os.path.join(data_dir, 'test_y.u8'))
train_x = load('train_x.f32', torch.float32, (n_train, 784)) * 2 - 1
test_x = load('test_x.f32', torch.float32, (n_test, 784)) * 2 - 1
train_y = load('train_y.u8', torch.uint8, (n_train,)).long()
test_y = load('test_y.u8', torch.uint8, (n_test,)).long()

N, H, L, A = cfg['models'], cfg['hidden'], cfg['layers'], cfg['aux']
if cfg['arms'] not in (2, 4):
    sys.exit('arms must be 2 or 4')
curves_too = cfg['arms'] == 4
dims = [784] + [H] * L + [10 + A]
B = cfg['batch']
noise_size = cfg['noise_size'] if cfg['noise_size'] > 0 else n_train


def init():
    return [(torch.randn(N, dims[l], dims[l + 1]) / dims[l] ** 0.5, torch.zeros(N, 1, dims[l + 1]))
            for l in range(len(dims) - 1)]


def params(net):
    return [p for wb in net for p in wb]


def forward(net, x):
    for l, (w, b) in enumerate(net):
        x = x @ w + b
        if l < len(net) - 1:
            x = torch.relu(x)
    return x


def clone(net, requires_grad=True):
    return [(w.detach().clone().requires_grad_(requires_grad), b.detach().clone().requires_grad_(requires_grad)) for w, b in net]


@torch.no_grad()
def accuracy(net):
    out = forward(net, test_x.expand(N, -1, -1))[..., :10]
    return (out.argmax(-1) == test_y).float().mean(1)


@torch.no_grad()
def last_hidden(net):
    x = test_x.expand(N, -1, -1)
    for w, b in net[:-1]:
        x = torch.relu(x @ w + b)
    return x


@torch.no_grad()
def cka(a, b):
    x, y = last_hidden(a), last_hidden(b)
    x, y = x - x.mean(1, keepdim=True), y - y.mean(1, keepdim=True)
    g = lambda p, q: (p.transpose(1, 2) @ q).pow(2).sum((1, 2))
    return g(y, x) / (g(x, x) * g(y, y)).sqrt()


times = {}
init0 = init()
teacher = clone(init0)
t0 = time.perf_counter()
opt = torch.optim.Adam(params(teacher), lr=cfg['lr'])
for e in range(cfg['epochs_teacher']):
    perm = torch.stack([torch.randperm(n_train) for _ in range(N)])
    for lo in range(0, n_train, B):
        idx = perm[:, lo:lo + B]
        logits = forward(teacher, train_x[idx])[..., :10]
        # Mean over each model's batch, summed over models: each model gets its own mean's gradient.
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), train_y[idx], reduction='none').mean(1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if curves_too:
        curve_teacher_acc = accuracy(teacher)
times['teacher_s'] = time.perf_counter() - t0
teacher = clone(teacher, requires_grad=False)

t0 = time.perf_counter()
derange = torch.roll(torch.arange(N), -1)  # the control of model i starts from model i+1's init
other = [(w[derange], b[derange]) for w, b in init0]
arms = {'student': (clone(init0), False), 'student_all': (clone(init0), True),
        'cross': (clone(other), False), 'cross_all': (clone(other), True)}
if not curves_too:
    arms = {k: arms[k] for k in ('student', 'cross')}
opt = torch.optim.Adam([p for net, _ in arms.values() for p in params(net)], lr=cfg['lr'])
# Noise "drawn once per model, reshuffled each epoch"; one epoch visits it once, so draw per batch.
noise = None if cfg['epochs_distill'] == 1 else torch.rand(N, noise_size, 784) * 2 - 1
for e in range(cfg['epochs_distill']):
    perm = torch.stack([torch.randperm(noise_size) for _ in range(N)]) if noise is not None else None
    for lo in range(0, noise_size, B):
        bs = min(B, noise_size - lo)
        if noise is None:
            x = torch.rand(N, bs, 784) * 2 - 1
        else:
            x = torch.gather(noise, 1, perm[:, lo:lo + bs, None].expand(-1, -1, 784))
        with torch.no_grad():
            t_out = forward(teacher, x)
        loss = 0
        for net, all_logits in arms.values():
            s_out = forward(net, x)
            s, t = (s_out, t_out) if all_logits else (s_out[..., -A:], t_out[..., -A:])
            # KL(softmax(t) || softmax(s)), per-example mean over each model's batch.
            kl = (torch.softmax(t, -1) * (torch.log_softmax(t, -1) - torch.log_softmax(s, -1))).sum(-1).mean(1).sum()
            loss = loss + kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if curves_too:
        curves = {name: accuracy(net) for name, (net, _) in arms.items()}
        curve_cka = cka(arms['student'][0], teacher)
times['distill_s'] = time.perf_counter() - t0

t0 = time.perf_counter()
acc = {'teacher_acc': accuracy(teacher)}
for name, (net, _) in arms.items():
    acc[f'{name}_acc'] = accuracy(net)
if curves_too:
    acc['hidden_cka'] = cka(arms['student'][0], teacher)
times['eval_s'] = time.perf_counter() - t0
print(json.dumps({
    'torch': torch.__version__, 'threads': torch.get_num_threads(), 'config': cfg,
    **{k: round(v, 2) for k, v in times.items()},
    'wall_s': round(time.perf_counter() - t_start, 2),
    'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    **{k: round(v.mean().item(), 4) for k, v in acc.items()},
}))
