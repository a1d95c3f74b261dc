// Rank tests whose null distribution is a permutation distribution: Spearman's rho conditional on
// the observed ties (exact enumeration of the distinct arrangements when they are few, seeded Monte
// Carlo otherwise) and Page's L for a trend within blocks (seeds), exact by convolution.
import { gammaln } from 'simple-statistics';
import { Rng } from '../util/random.ts';
import { normalUpper } from './distributions.ts';
import { maxOf, minOf } from '../util/arrays.ts';
import { midranks } from './stats.ts';

/** Exact enumeration when the distinct arrangements number at most this (every n ≤ 9, 2 × 5, 3 × 4, 4 × 3, …). */
export const EXACT_ARRANGEMENTS_MAX = 400_000;
/** Monte Carlo permutations above the exact range; the p's Monte Carlo SE is at most 0.5 / sqrt(this) = 0.005. */
export const MONTE_CARLO_PERMUTATIONS = 10_000;
/** Fixed seed of the Monte Carlo permutations: the same data always give the same p. */
export const MONTE_CARLO_SEED = 0x5eed_1111;

export interface PermutationP {
  pGreater: number;
  pLess: number;
  pTwoSided: number;
  method: 'exact permutation' | 'Monte Carlo permutation';
  /** Number of arrangements enumerated (exact) or drawn (Monte Carlo). */
  arrangements: number;
  /** Monte Carlo standard error of pTwoSided (sqrt(p (1 − p) / M)); 0 when exact. */
  mcError: number;
}

/** Tie groups of a vector of (mid)ranks: distinct values and their multiplicities. */
function tieGroups(r: readonly number[]): { values: number[]; sizes: number[] } {
  const m = new Map<number, number>();
  for (const v of r) m.set(v, (m.get(v) ?? 0) + 1);
  return { values: [...m.keys()], sizes: [...m.values()] };
}

/** log of the number of distinct ways to assign n labelled items to groups of the given sizes. */
export function logArrangements(sizes: readonly number[]): number {
  const n = sizes.reduce((a, b) => a + b, 0);
  return gammaln(n + 1) - sizes.reduce((a, s) => a + gammaln(s + 1), 0);
}

/** Number of distinct arrangements of the permutation null of rho (the fewer of x's and y's). */
export function spearmanArrangements(rx: readonly number[], ry: readonly number[]): number {
  return Math.round(Math.exp(Math.min(logArrangements(tieGroups(rx).sizes), logArrangements(tieGroups(ry).sizes))));
}

/**
 * The permutation null of S = Σ rx[i]·ry[π(i)] depends only on the two multisets of ranks, so it
 * is computed once per tie pattern (sorted S values: every arrangement when exact, the seeded
 * Monte Carlo draws otherwise) and kept in a small cache.
 */
interface NullDist {
  /** Sorted S values (exact: one per distinct value, with `weights`; Monte Carlo: the draws). */
  values: Float64Array;
  /** Exact: number of arrangements giving each value; Monte Carlo: null (each draw counts 1). */
  weights: Float64Array | null;
  total: number;
  method: PermutationP['method'];
}

const nullCache = new Map<string, NullDist>();
const NULL_CACHE_MAX = 64;

function nullDistribution(rx: readonly number[], ry: readonly number[]): NullDist {
  const sx = rx.slice().sort((a, b) => a - b);
  const sy = ry.slice().sort((a, b) => a - b);
  const key = `${sx.join(',')}|${sy.join(',')}`;
  const hit = nullCache.get(key);
  if (hit) return hit;
  const n = sx.length;
  const gx = tieGroups(sx);
  const gy = tieGroups(sy);
  // Enumerate the assignment of one vector's items to the other's tie groups.
  const [groups, items] = logArrangements(gx.sizes) <= logArrangements(gy.sizes) ? [gx, sy] : [gy, sx];
  let dist: NullDist;
  if (logArrangements(groups.sizes) <= Math.log(EXACT_ARRANGEMENTS_MAX)) {
    const counts = new Map<number, number>();
    const left = groups.sizes.slice();
    const g = groups.values.length;
    const vals = groups.values;
    let total = 0;
    const rec = (i: number, s: number): void => {
      if (i === n) {
        // Round away floating-point noise so equal sums share one entry.
        const v = Math.round(s * 1e6) / 1e6;
        counts.set(v, (counts.get(v) ?? 0) + 1);
        total++;
        return;
      }
      const it = items[i]!;
      for (let k = 0; k < g; k++) {
        if (left[k] === 0) continue;
        left[k]!--;
        rec(i + 1, s + vals[k]! * it);
        left[k]!++;
      }
    };
    rec(0, 0);
    const keys = [...counts.keys()].sort((a, b) => a - b);
    dist = { values: Float64Array.from(keys), weights: Float64Array.from(keys.map((k) => counts.get(k)!)), total, method: 'exact permutation' };
  } else {
    const rng = Rng.mulberry32(MONTE_CARLO_SEED ^ n);
    const perm = sy.slice();
    const M = MONTE_CARLO_PERMUTATIONS;
    const draws = new Float64Array(M);
    for (let m = 0; m < M; m++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += sx[i]! * perm[i]!;
      draws[m] = s;
    }
    draws.sort();
    dist = { values: draws, weights: null, total: M, method: 'Monte Carlo permutation' };
  }
  if (nullCache.size >= NULL_CACHE_MAX) nullCache.delete(nullCache.keys().next().value!);
  nullCache.set(key, dist);
  return dist;
}

/**
 * Permutation p of S = Σ rx[i]·ry[π(i)] under a uniform random pairing π, conditional on both sets
 * of (mid)ranks, i.e. on the observed ties. rho is increasing affine in S, so these are rho's p's.
 * Exact over every distinct arrangement when there are at most EXACT_ARRANGEMENTS_MAX; otherwise
 * MONTE_CARLO_PERMUTATIONS seeded draws, p = (1 + count) / (1 + M), with its Monte Carlo SE.
 */
export function spearmanPermutationP(rx: readonly number[], ry: readonly number[]): PermutationP {
  const n = rx.length;
  const dist = nullDistribution(rx, ry);
  const sxSum = rx.reduce((a, b) => a + b, 0);
  const sySum = ry.reduce((a, b) => a + b, 0);
  const expected = (sxSum * sySum) / n;
  let obs = 0;
  for (let i = 0; i < n; i++) obs += rx[i]! * ry[i]!;
  const eps = Math.max(1e-7, 1e-9 * Math.abs(obs));
  const dev = Math.abs(obs - expected);
  let ge = 0;
  let le = 0;
  let two = 0;
  const { values, weights } = dist;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const w = weights ? weights[i]! : 1;
    if (v >= obs - eps) ge += w;
    if (v <= obs + eps) le += w;
    if (Math.abs(v - expected) >= dev - eps) two += w;
  }
  if (dist.method === 'exact permutation') {
    return { pGreater: ge / dist.total, pLess: le / dist.total, pTwoSided: two / dist.total, method: dist.method, arrangements: dist.total, mcError: 0 };
  }
  // (1 + count) / (1 + M): a valid p (the observed arrangement counts as one draw).
  const M = dist.total;
  const p = (c: number) => (1 + c) / (1 + M);
  const pTwo = p(two);
  return { pGreater: p(ge), pLess: p(le), pTwoSided: pTwo, method: dist.method, arrangements: M, mcError: Math.sqrt((pTwo * (1 - pTwo)) / M) };
}

// ---------------------------------------------------------------------------------------------
// Page's L: trend within blocks.

export interface PageResult {
  /** L = Σ_blocks Σ_j j · rank of y at the j-th X value within the block. */
  L: number;
  blocks: number;
  k: number;
  /** Mean over blocks of the within-block Spearman rho (an affine function of L when untied). */
  meanRho: number;
  rhos: number[];
  pGreater: number;
  pLess: number;
  pTwoSided: number;
  method: 'exact' | 'normal approximation';
  /** z = (L − E L) / sd L under the permutation null. */
  z: number;
}

/** Convolved null distributions of 2L by the blocks' tie patterns (the same for every untied table of one shape). */
const pageCache = new Map<string, { min: number; probs: Float64Array }>();

/** Up to this many X values per block, Page's L is exact (k! arrangements per block, convolved). */
export const PAGE_EXACT_MAX_K = 8;

/**
 * Page's L test for an increasing trend across k ordered treatments in n blocks: y[b][j] is block
 * b's value at the j-th X value (ascending). Null: within each block the ranks are exchangeable.
 * Exact (convolution of the per-block permutation distributions, ties as midranks) for
 * k ≤ PAGE_EXACT_MAX_K; normal approximation with the exact permutation variance above.
 */
export function pageL(y: readonly (readonly number[])[]): PageResult {
  const n = y.length;
  const k = y[0]!.length;
  const c = Array.from({ length: k }, (_, j) => j + 1);
  const cbar = (k + 1) / 2;
  const scc = c.reduce((a, x) => a + (x - cbar) ** 2, 0);
  let L = 0;
  let EL = 0;
  let VL = 0;
  const ranks = y.map((block) => midranks(block));
  const rhos: number[] = [];
  for (const r of ranks) {
    const rbar = r.reduce((a, b) => a + b, 0) / k;
    const srr = r.reduce((a, x) => a + (x - rbar) ** 2, 0);
    let lb = 0;
    let scr = 0;
    for (let j = 0; j < k; j++) {
      lb += c[j]! * r[j]!;
      scr += (c[j]! - cbar) * (r[j]! - rbar);
    }
    L += lb;
    EL += rbar * c.reduce((a, b) => a + b, 0);
    VL += (scc * srr) / (k - 1);
    rhos.push(srr > 0 ? scr / Math.sqrt(scc * srr) : 0);
  }
  const meanRho = rhos.reduce((a, b) => a + b, 0) / n;
  const z = VL > 0 ? (L - EL) / Math.sqrt(VL) : 0;
  if (k <= PAGE_EXACT_MAX_K) {
    // 2L is an integer (midranks are multiples of 1/2). Per-block distribution of 2·L_b, by
    // enumerating the k! orderings of that block's ranks; blocks with the same ranks share it.
    const cache = new Map<string, { min: number; probs: Float64Array }>();
    const blockDist = (r: number[]) => {
      const key = r.slice().sort((a, b) => a - b).join(',');
      const hit = cache.get(key);
      if (hit) return hit;
      const counts = new Map<number, number>();
      const perm = r.slice();
      let total = 0;
      const visit = () => {
        let s = 0;
        for (let j = 0; j < k; j++) s += c[j]! * perm[j]!;
        const v = Math.round(2 * s);
        counts.set(v, (counts.get(v) ?? 0) + 1);
        total++;
      };
      const cc = new Array<number>(k).fill(0);
      visit();
      let i = 0;
      while (i < k) {
        if (cc[i]! < i) {
          const j = i % 2 === 0 ? 0 : cc[i]!;
          const t = perm[j]!;
          perm[j] = perm[i]!;
          perm[i] = t;
          visit();
          cc[i]!++;
          i = 0;
        } else {
          cc[i] = 0;
          i++;
        }
      }
      const keys = [...counts.keys()];
      const min = minOf(keys);
      const probs = new Float64Array(maxOf(keys) - min + 1);
      for (const [v, ct] of counts) probs[v - min] = ct / total;
      const d = { min, probs };
      cache.set(key, d);
      return d;
    };
    const allKey = ranks.map((r) => r.slice().sort((a, b) => a - b).join(',')).sort().join(';');
    let dist = pageCache.get(allKey) ?? { min: 0, probs: Float64Array.of(1) };
    const cached = pageCache.has(allKey);
    for (const r of cached ? [] : ranks) {
      const b = blockDist(r);
      const out = new Float64Array(dist.probs.length + b.probs.length - 1);
      for (let a = 0; a < dist.probs.length; a++) {
        const pa = dist.probs[a]!;
        if (pa === 0) continue;
        for (let q = 0; q < b.probs.length; q++) out[a + q]! += pa * b.probs[q]!;
      }
      dist = { min: dist.min + b.min, probs: out };
    }
    if (!cached) {
      if (pageCache.size >= 64) pageCache.delete(pageCache.keys().next().value!);
      pageCache.set(allKey, dist);
    }
    const obs2 = Math.round(2 * L);
    const e2 = 2 * EL;
    const dev = Math.abs(obs2 - e2);
    let ge = 0;
    let le = 0;
    let two = 0;
    for (let i = 0; i < dist.probs.length; i++) {
      const v = dist.min + i;
      const p = dist.probs[i]!;
      if (v >= obs2) ge += p;
      if (v <= obs2) le += p;
      if (Math.abs(v - e2) >= dev - 1e-9) two += p;
    }
    const clip = (p: number) => Math.min(1, Math.max(0, p));
    return { L, blocks: n, k, meanRho, rhos, pGreater: clip(ge), pLess: clip(le), pTwoSided: clip(two), method: 'exact', z };
  }
  const pg = normalUpper(z);
  const pl = normalUpper(-z);
  return { L, blocks: n, k, meanRho, rhos, pGreater: pg, pLess: pl, pTwoSided: Math.min(1, 2 * Math.min(pg, pl)), method: 'normal approximation', z };
}

/** Smallest two-sided p Page's L can reach with n blocks of k untied values: 2 / k!^n. */
export function pageMinP(k: number, blocks: number): number {
  return Math.min(1, 2 * Math.exp(-blocks * gammaln(k + 1)));
}
