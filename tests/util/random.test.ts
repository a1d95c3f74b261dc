// Golden draws of every stream the project seeds, pinned from the generators this module replaced
// (data/random.ts, superposition/rng.ts, verdict/random.ts, the tiny model's and the fuzz test's
// mulberry32). Committed results were drawn from these streams: a change here changes them.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Rng, fillUniformPm1, streamSeed } from '../../src/util/random.ts';
import { fillDistillRows, type DistillData } from '../../src/data/random.ts';

const draws = (f: () => number, n: number) => Array.from({ length: n }, f);
const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer)).digest('hex');

describe('sfc32 keyed by a 32-bit seed or a hash of labels (mlp_distill, distillation data)', () => {
  it('streamSeed', () => {
    expect([streamSeed(0), streamSeed(5, 'init', 2), streamSeed(1000, 'distill', 'uniform', 7)]).toEqual([3274761969, 2860285432, 1313172651]);
  });

  it('first draws: next, nextU32, normal, int, permutation, fillNormal', () => {
    const r = Rng.fromSeed(0);
    expect(draws(() => r.next(), 6)).toEqual([0.011128023499622941, 0.5714294023346156, 0.9091700275894254, 0.3768168182577938, 0.6200180584564805, 0.37627329607494175]);
    expect(draws(() => r.nextU32(), 6)).toEqual([3594876139, 3158901832, 443446200, 2503063703, 1144109420, 3251446066]);
    const n = Rng.of(5, 'init', 2);
    expect(draws(() => n.normal(), 7)).toEqual([-0.025541693338997983, -0.8590154879015576, -0.7692263631375482, 1.3147803800431355, -0.8713917012085733, 0.10414372351171186, 0.005873585610312854]);
    const i = Rng.fromSeed(123456789);
    expect(draws(() => i.int(1000), 6)).toEqual([812, 867, 2, 543, 790, 92]);
    expect(Array.from(Rng.of(1, 'p').permutation(10))).toEqual([1, 3, 7, 0, 2, 8, 5, 6, 9, 4]);
    expect(Array.from(Rng.of(2).fillNormal(new Float32Array(5), 0.5))).toEqual([0.3733522593975067, 0.04433619976043701, 0.30320659279823303, -0.027706237509846687, -0.19905626773834229]);
  });

  it('fillUniformPm1 is next() * 2 − 1 of Rng.fromSeed, bit for bit', () => {
    const out = new Float32Array(10);
    fillUniformPm1(out, 2, 8, 99);
    expect(Array.from(out)).toEqual([0, 0, 0.10522927343845367, -0.8588094711303711, 0.9205096364021301, 0.2847805321216583, -0.7886603474617004, 0.6490159630775452, -0.9689404964447021, 0.82013338804245]);
    const r = Rng.fromSeed(99);
    expect(Array.from(out.subarray(2))).toEqual(Array.from(Float32Array.from(draws(() => r.next() * 2 - 1, 8))));
  });

  it('distillation inputs of every kind', () => {
    const out = new Float32Array(784 * 3);
    const pool = { x: Float32Array.from({ length: 784 * 4 }, (_, i) => (i % 255) / 255), n: 4 };
    const want: Record<DistillData & string, string> = {
      uniform: 'c239b2014ab100b5d3b363b324b782610bae421d54bec4ae8c40b0dac93b3cce',
      gaussian: '650d6ab38df02af084ef57249718d4cc26f7b650cd8ffe310789b7ecf498d41b',
      shuffled_pixels: '0703cf867e5e5cd1688af202b6aa8f7992542e98c07cc22e77e59bfbb043c6da',
      mnist: 'bea134e97fcfd4b16ba75c4db9a7fd0d022c278937ace692f0d894c60147e8b1',
    } as Record<DistillData & string, string>;
    for (const [kind, hash] of Object.entries(want)) {
      fillDistillRows(out, kind as DistillData, 11, [0, 5, 9], pool);
      expect(sha(out), kind).toBe(hash);
    }
  });
});

describe('sfc32 keyed by (seed, stream) through splitmix32 (superposition)', () => {
  it('first draws: next, normal', () => {
    const r = Rng.stream(0, 0);
    expect(draws(() => r.next(), 6)).toEqual([0.8151703539770097, 0.3567734498064965, 0.24815857410430908, 0.8328691748902202, 0.43566719722002745, 0.6365345208905637]);
    const n = Rng.stream(42, 3);
    expect(draws(() => n.normal(), 7)).toEqual([0.5983302490355388, -0.847956921949158, -0.02223584046861008, -1.573056525287528, -0.9360799824960659, 0.1426982021477671, 1.9181214150479016]);
    const c = Rng.stream(2000, 1);
    expect(draws(() => c.next(), 3)).toEqual([0.9172888423781842, 0.6396654194686562, 0.7701023619156331]);
  });

  it('fillBatch: sparse features, inactive ones zero, state written back', () => {
    const b = new Float32Array(40);
    Rng.stream(7, 2).fillBatch(b, 0, 4, 10, 8, 0.7);
    expect(Array.from(b)).toEqual([
      0, 0, 0, 0, 0, 0, 0.6350350379943848, 0, 0, 0, 0.9584004282951355, 0.9150978326797485, 0.775368869304657, 0, 0.6128011345863342, 0.010557381436228752, 0, 0, 0, 0,
      0, 0, 0.5786862969398499, 0, 0, 0, 0, 0.7802309989929199, 0, 0, 0.9427157640457153, 0, 0.5072786211967468, 0, 0.5323863625526428, 0, 0, 0.16418839991092682, 0, 0,
    ]);
    const s = new Float32Array(12);
    const r = Rng.stream(9, 1);
    r.fillBatch(s, 1, 1, 10, 10, 0.5);
    expect(Array.from(s)).toEqual([0, 0.5235976576805115, 0.045014847069978714, 0, 0, 0, 0.6172470450401306, 0.7551525831222534, 0, 0, 0, 0]);
    expect(r.next()).toBe(0.7161137682851404);
  });
});

describe('mulberry32 (verdict Monte Carlo, tiny model, fuzz test)', () => {
  it('first draws: next, normal', () => {
    const r = Rng.mulberry32(0);
    expect(draws(() => r.next(), 6)).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111, 0.46732782293111086, 0.5450490827206522]);
    const n = Rng.mulberry32(20240601);
    expect(draws(() => n.normal(), 7)).toEqual([1.4196931436221507, 0.25406602493302144, 0.21652780568525581, 0.8356075895865723, 0.07930486348697414, 1.2925831771395286, 0.5598039917306511]);
  });

  it('discardSpare makes the next normal draw a fresh pair', () => {
    const a = Rng.mulberry32(3), b = Rng.mulberry32(3);
    a.normal();
    a.discardSpare();
    b.normal();
    b.normal(); // the spare
    expect(a.normal()).toBe(b.normal());
  });
});
