#!/usr/bin/env python3
"""lm_distill's word-level GPT as a researcher would write it in PyTorch (CPU), for the
side-by-side benchmark in bench/lm-distill.ts. GPT-2's architecture (pre-LayerNorm, tied
embeddings, learned positions, GELU tanh, causal attention), N models side by side as batched
weights ([N, ...] tensors, x @ W on [N, B, T, d]; layout=batched) or one after another as
separate models with plain 2-D products (layout=loop, how the prototype was written); autograd,
AdamW with a cosine learning rate, cross-entropy on next tokens of random token batches (the
timing does not depend on the data).

  python3 bench/torch_lm_distill.py train key=value ...
      Prints one JSON object: seconds per step, wall time, GFLOP/s, peak RSS, final loss.
  python3 bench/torch_lm_distill.py logits WEIGHTS TOKENS OUT key=value ...
      One model's logits: WEIGHTS (float32, sublab's paramLayout order with n = 1), TOKENS
      (int32 [batch, T]) → OUT (float32 [batch, T, vocab]); the engine tests' cross-check.
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

cfg = dict(models=5, vocab=153, context=16, d=64, layers=2, heads=4, batch=128, steps=50,
           warmup=5, lr=3e-3, wd=0.01, threads=2, seed=0, batch_rows=0, layout='batched')
mode = sys.argv[1]
rest = sys.argv[2:]
files = [a for a in rest if '=' not in a]
for arg in rest:
    if '=' in arg:
        k, v = arg.split('=')
        cfg[k] = type(cfg[k])(float(v)) if isinstance(cfg[k], (int, float)) else v
torch.set_num_threads(cfg['threads'])
torch.manual_seed(cfg['seed'])
V, C, D, L, H = cfg['vocab'], cfg['context'], cfg['d'], cfg['layers'], cfg['heads']
FF = 4 * D


def layout():
    """sublab's paramLayout: (name, shape) in slab order (each tensor 4-float aligned)."""
    out = [('wte', (V, D)), ('wpe', (C, D))]
    for l in range(L):
        h = f'h{l}.'
        out += [(h + 'ln1.g', (D,)), (h + 'ln1.b', (D,)), (h + 'attn.wqkv', (D, 3 * D)), (h + 'attn.bqkv', (3 * D,)),
                (h + 'attn.wo', (D, D)), (h + 'attn.bo', (D,)), (h + 'ln2.g', (D,)), (h + 'ln2.b', (D,)),
                (h + 'mlp.w1', (D, FF)), (h + 'mlp.b1', (FF,)), (h + 'mlp.w2', (FF, D)), (h + 'mlp.b2', (D,))]
    return out + [('lnf.g', (D,)), ('lnf.b', (D,))]


def init(n):
    p = {}
    for name, shape in layout():
        if name.endswith('.g'):
            t = torch.ones(n, *shape)
        elif name.endswith(('.b', 'bqkv', '.bo', '.b1', '.b2')):
            t = torch.zeros(n, *shape)
        else:
            std = 0.02 / math.sqrt(2 * L) if name.endswith(('attn.wo', 'mlp.w2')) else 0.02
            t = torch.randn(n, *shape) * std
        p[name] = t.requires_grad_()
    return p


def ln(x, g, b):
    if g.dim() == 1:
        return F.layer_norm(x, x.shape[-1:], g, b, eps=1e-5)
    # Per-model g, b ([N, d] broadcast over batch and positions).
    x = F.layer_norm(x, x.shape[-1:], eps=1e-5)
    return x * g[:, None, None, :] + b[:, None, None, :]


def lin(x, w, b):
    """x @ W + b: a plain 2-D product for one model's weights, a batched one for [N, ...] weights."""
    if w.dim() == 2:
        return x @ w + b
    return x @ w[:, None] + b[:, None, None, :]


def forward(p, tokens):
    """tokens [N, B, T] → logits [N, B, T, V] (one model's weights: tokens [B, T] → [B, T, V])."""
    if p['wte'].dim() == 2:
        b, t = tokens.shape
        x = p['wte'][tokens] + p['wpe'][:t]
        return blocks(p, x, 1, b, t) @ p['wte'].t()
    n, b, t = tokens.shape
    x = p['wte'][torch.arange(n)[:, None, None], tokens] + p['wpe'][:, None, :t, :]
    return blocks(p, x, n, b, t) @ p['wte'][:, None].transpose(-1, -2)


def blocks(p, x, n, b, t):
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    dh = D // H
    lead = (n, b) if x.dim() == 4 else (b,)
    for l in range(L):
        h = f'h{l}.'
        a = ln(x, p[h + 'ln1.g'], p[h + 'ln1.b'])
        qkv = lin(a, p[h + 'attn.wqkv'], p[h + 'attn.bqkv'])
        q, k, v = (z.reshape(*lead, t, H, dh).transpose(-3, -2) for z in qkv.split(D, dim=-1))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        y = torch.softmax(s.masked_fill(mask, float('-inf')), dim=-1) @ v
        y = y.transpose(-3, -2).reshape(*lead, t, D)
        x = x + lin(y, p[h + 'attn.wo'], p[h + 'attn.bo'])
        m = F.gelu(lin(ln(x, p[h + 'ln2.g'], p[h + 'ln2.b']), p[h + 'mlp.w1'], p[h + 'mlp.b1']), approximate='tanh')
        x = x + lin(m, p[h + 'mlp.w2'], p[h + 'mlp.b2'])
    return ln(x, p['lnf.g'], p['lnf.b'])


if mode == 'logits':
    wfile, tfile, ofile = files
    import numpy as np
    w = np.fromfile(wfile, dtype=np.float32)
    tok = torch.from_numpy(np.fromfile(tfile, dtype=np.int32).astype(np.int64))
    p, off = {}, 0
    for name, shape in layout():
        size = math.prod(shape)
        p[name] = torch.from_numpy(w[off:off + size].copy()).reshape(1, *shape).double()
        off += (size + 3) & ~3
    T = int(cfg['batch_rows']) or C
    with torch.no_grad():
        out = forward(p, tok.reshape(1, -1, T))
    out.float().numpy().tofile(ofile)
    sys.exit(0)

N, B, T = cfg['models'], cfg['batch'], C
loop = cfg['layout'] == 'loop'
if loop:
    # N separate models (2-D weights), each its own forward and backward; one optimiser over all.
    nets = [{k: v.detach()[0].clone().requires_grad_() for k, v in init(1).items()} for _ in range(N)]
    params = [t for net in nets for t in net.values()]
else:
    p = init(N)
    params = list(p.values())
opt = torch.optim.AdamW(params, lr=cfg['lr'], betas=(0.9, 0.999), eps=1e-8, weight_decay=cfg['wd'])
total = cfg['warmup'] + cfg['steps']
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
gen = torch.Generator().manual_seed(cfg['seed'])


def step():
    tokens = torch.randint(0, V, (N, B, T + 1), generator=gen)
    opt.zero_grad(set_to_none=True)
    if loop:
        losses = []
        for i, net in enumerate(nets):
            li = F.cross_entropy(forward(net, tokens[i, :, :-1]).reshape(-1, V), tokens[i, :, 1:].reshape(-1))
            li.backward()
            losses.append(li.detach())
        loss = torch.stack(losses)
    else:
        logits = forward(p, tokens[..., :-1])
        # Per-model mean over the batch's next tokens, summed over models (each model's own gradient).
        loss = F.cross_entropy(logits.reshape(-1, V), tokens[..., 1:].reshape(-1), reduction='none').reshape(N, -1).mean(1)
        loss.sum().backward()
    opt.step()
    sched.step()
    return loss


t0 = time.perf_counter()
for _ in range(cfg['warmup']):
    step()
t1 = time.perf_counter()
for _ in range(cfg['steps']):
    loss = step()
t2 = time.perf_counter()
per_step = (t2 - t1) / cfg['steps']
print(json.dumps({
    'torch': torch.__version__, 'layout': cfg['layout'], 'threads': cfg['threads'], 'models': N, 'batch': B, 'steps': cfg['steps'],
    'step_ms': round(per_step * 1000, 2), 'warmup_s': round(t1 - t0, 2), 'wall_s': round(t2 - t0, 2),
    'loss': round(float(loss.mean()), 4), 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
}))
