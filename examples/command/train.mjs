#!/usr/bin/env node
// Example program for sublab's `command` runner, in Node (no dependencies): the same task as
// train.py, speaking the protocol by hand (docs/protocol.md). Parameters arrive as one JSON object
// on stdin; one result row leaves as a JSON line on stdout; progress goes to stderr. In a project
// that installed sublab, the helper does the same in three lines:
//   import { params, emit, log } from 'sublab/protocol';
//   const p = params(); ...; log('epoch', 1); ...; emit({ accuracy, loss });
let text = '';
for await (const chunk of process.stdin) text += chunk;
const params = JSON.parse(text);
const seed = Number(params.seed ?? 0);
const lr = Number(params.lr ?? 0.1);
const epochs = Number(params.epochs ?? 20);
const n = Number(params.samples ?? 200);
const separation = Number(params.separation ?? 1.5);

// mulberry32: a seeded PRNG so a seed reproduces its run exactly.
let s = seed >>> 0;
const rand = () => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const gauss = (mu) => mu + Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const blob = (label) => {
  const c = label ? separation / 2 : -separation / 2;
  return { x: [gauss(c), gauss(c)], y: label };
};
const train = Array.from({ length: n }, (_, i) => blob(i % 2));
const test = Array.from({ length: 1000 }, (_, i) => blob(i % 2));

let w = [0, 0];
let b = 0;
const predict = (x) => 1 / (1 + Math.exp(-Math.max(-30, Math.min(30, w[0] * x[0] + w[1] * x[1] + b))));
let loss = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const gw = [0, 0];
  let gb = 0;
  loss = 0;
  for (const { x, y } of train) {
    const p = predict(x);
    loss -= Math.log(Math.max(y ? p : 1 - p, 1e-12));
    gw[0] += (p - y) * x[0];
    gw[1] += (p - y) * x[1];
    gb += p - y;
  }
  w = [w[0] - (lr * gw[0]) / n, w[1] - (lr * gw[1]) / n];
  b -= (lr * gb) / n;
  loss /= n;
  process.stderr.write(`epoch ${epoch + 1}/${epochs} loss ${loss.toFixed(4)}\n`);
}
const accuracy = test.filter(({ x, y }) => (predict(x) > 0.5) === Boolean(y)).length / test.length;
console.log(JSON.stringify({ accuracy, loss }));
